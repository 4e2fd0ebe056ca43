/**
 * Tenancy as one piece for the identity plugin: its HTTP groups, its handlers with the services
 * behind them, its migration, scopes and problems. The services need the identity platform
 * services (`Users`, `ApiKeys`, `Sessions`, `Passwords`, `Verifications`, `CredentialCache`,
 * `Mailer`, `LoginGuard`), `AuditLog`, `SqlClient` and `TrellisConfig`.
 */
import { Layer } from "effect"
import { Invites } from "./Invites.ts"
import { Members } from "./Members.ts"
import { migration } from "./migrations/0002_tenancy.ts"
import { migration as workspaceDefaultsMigration } from "./migrations/0003_workspace_defaults.ts"
import { Organizations } from "./Organizations.ts"
import { tenancyGroups, tenancyScopes } from "./TenancyApi.ts"
import { TenancyHttp } from "./TenancyHttp.ts"
import { tenancyProblems } from "./TenancyProblems.ts"
import { Workspaces } from "./Workspaces.ts"

export { migration as tenancyMigration, tenancyGroups, workspaceDefaultsMigration, tenancyProblems, tenancyScopes }

/** The tenancy services; `Members` is shared by the others. */
export const TenancyServices = Layer.mergeAll(Invites.layer, Organizations.layer).pipe(
  Layer.provideMerge(Layer.mergeAll(Members.layer, Workspaces.layer))
)

/** The handlers and the services they use (the services are output for later plugins too). */
export const TenancyLayer = TenancyHttp.pipe(Layer.provideMerge(TenancyServices))
