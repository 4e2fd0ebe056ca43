/**
 * Identity as a platform plugin: it owns the `identity` schema and serves the authentication
 * and tenancy surfaces of the seeds. Its core services (`Users`, `Sessions`, `ApiKeys`,
 * `Credentials`, ...) are built by the platform before any plugin (see `IdentityServices.ts`),
 * because the authentication middleware needs them; the tenancy services (`Members`,
 * `Workspaces`, `Invites`, `Organizations`) come with its layer, for the plugins after it.
 */
import { Layer } from "effect"
import { authProblems } from "../auth/AuthProblems.ts"
import * as Plugin from "../plugin/Plugin.ts"
import { LoginGroup, SessionGroup, SessionFsAuthGroup, SignupGroup, SurfletAuthGroup } from "./AuthApi.ts"
import { AuthHttp } from "./AuthHttp.ts"
import { claimRoutes } from "./ClaimPage.ts"
import { identityProblems } from "./IdentityProblems.ts"
import { migrations } from "./migrations.ts"
import { migration as mobileTokensMigration } from "./migrations/0004_mobile_tokens.ts"
import { DevicesGroup, MobileAccountGroup, MobileTokenGroup } from "./MobileApi.ts"
import { MobileHttp } from "./MobileHttp.ts"
import { mobileProblems } from "./MobileProblems.ts"
import { ServerParamsGroup } from "../settings/SettingsApi.ts"
import { SettingsHttp } from "../settings/SettingsHttp.ts"
import { tenancyGroups, TenancyLayer, tenancyMigration, tenancyProblems, tenancyScopes, workspaceDefaultsMigration } from "./Tenancy.ts"

export const identityPluginId = "identity"

export const IdentityPlugin = Plugin.make({
  id: identityPluginId,
  version: "1.0.0",
  description: "Users, sessions, API keys, organizations, workspaces and invites",
  groups: [
    LoginGroup,
    SessionGroup,
    SurfletAuthGroup,
    SignupGroup,
    SessionFsAuthGroup,
    ...tenancyGroups,
    MobileTokenGroup,
    MobileAccountGroup,
    DevicesGroup,
    ServerParamsGroup
  ],
  migrations: [...migrations, tenancyMigration, workspaceDefaultsMigration, mobileTokensMigration],
  scopes: [...tenancyScopes],
  problems: [...authProblems, ...identityProblems, ...tenancyProblems, ...mobileProblems],
  web: { routes: claimRoutes },
  layer: Layer.mergeAll(AuthHttp, TenancyLayer, MobileHttp, SettingsHttp)
})
