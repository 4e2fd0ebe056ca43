/**
 * Organizations (SessionFS's orgs, Surflet's tenants): creating one, reading one, and Surflet's
 * agent accounts.
 *
 * - A user who creates an organization becomes its owner, and it becomes their default
 *   organization (where new sessions start; SessionFS's "your organization"). Existing sessions
 *   and keys keep acting where they were: `X-Trellis-Organization` switches per request.
 * - Agent self-registration (public) creates an organization marked `created_by_agent`, an
 *   agent user that owns it and a Surflet user key for that agent, plus a single-use claim code
 *   (stored as a digest). A signed-in human who presents the code becomes an owner too.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { actorOf, AuditLog } from "../audit/AuditLog.ts"
import type { Principal } from "../auth/Principal.ts"
import { Forbidden } from "../problem/Problems.ts"
import { ApiKeys } from "./ApiKeys.ts"
import { CredentialCache } from "./CredentialCache.ts"
import { InvalidToken } from "./IdentityProblems.ts"
import { Members } from "./Members.ts"
import { iso, uniqueViolation } from "./Rows.ts"
import * as Secrets from "./Secrets.ts"
import { SlugTaken } from "./TenancyProblems.ts"
import { Users } from "./Users.ts"
import { seedDefault } from "./Workspaces.ts"
import * as Row from "../database/Row.ts"

export interface OrganizationRecord {
  readonly id: string
  readonly name: string
  readonly slug: string | null
  readonly plan: string
  readonly createdAt: string
  readonly createdByAgent: boolean
  readonly claimedAt: string | null
}

interface OrganizationRow {
  readonly id: string
  readonly name: string
  readonly slug: string | null
  readonly plan: string
  readonly created_at: unknown
  readonly created_by_agent: boolean
  readonly claimed_at: unknown
}

const toRecord = (row: OrganizationRow): OrganizationRecord => ({
  id: row.id,
  name: row.name,
  slug: row.slug,
  plan: row.plan,
  createdAt: iso(row.created_at) ?? "",
  createdByAgent: row.created_by_agent,
  claimedAt: iso(row.claimed_at)
})

const columns = "id, name, slug, plan, created_at, created_by_agent, claimed_at"

/** A slug from a name: lowercase letters, digits and single hyphens, or `null` when too short. */
export const slugify = (name: string): string | null => {
  const slug = name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 90)
  return slug.length >= 3 ? slug : null
}

/** Claim codes are typed by people: compare them without case or surrounding space. */
export const claimDigest = (code: string): string => Secrets.digest(code.trim().toUpperCase())

export interface AgentAccount {
  readonly organizationId: string
  readonly userId: string
  readonly apiKey: string
  readonly claimCode: string
}

export class Organizations extends Context.Service<Organizations, {
  readonly get: (id: string) => Effect.Effect<Option.Option<OrganizationRecord>>
  /** Creates an organization; a user creator becomes its owner. The slug is derived from the name when absent. */
  readonly create: (
    creator: Principal,
    input: { readonly name: string; readonly slug?: string | undefined }
  ) => Effect.Effect<OrganizationRecord, SlugTaken>
  /** Surflet's agent self-registration (no principal: the request is public). */
  readonly registerAgent: (input: { readonly name: string; readonly ownerEmail: string | null }) => Effect.Effect<AgentAccount>
  /** A human presents a claim code and becomes an owner of the agent's organization. */
  readonly claim: (principal: Principal, code: string) => Effect.Effect<OrganizationRecord, InvalidToken | Forbidden>
}>()("trellis/identity/Organizations") {
  static readonly layer = Layer.effect(
    Organizations,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const users = yield* Users
      const keys = yield* ApiKeys
      const members = yield* Members
      const cache = yield* CredentialCache
      const audit = yield* AuditLog

      const get = (id: string) =>
        sql<OrganizationRow>`SELECT ${sql.unsafe(columns)} FROM identity.organizations WHERE id = ${id}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toRecord)),
          Effect.orDie
        )

      /** The slug to use: the given one, or one derived from the name that is not taken yet. */
      const chooseSlug = (name: string, given: string | undefined) =>
        Effect.gen(function*() {
          if (given !== undefined) return given
          const base = slugify(name) ?? "org"
          const taken = yield* sql`SELECT 1 FROM identity.organizations WHERE slug = ${base}`.pipe(Effect.orDie)
          return taken.length === 0 && base !== "org" ? base : `${base}-${Secrets.newId("x").slice(2, 10)}`
        })

      const create = (creator: Principal, input: { readonly name: string; readonly slug?: string | undefined }) =>
        Effect.gen(function*() {
          const slug = yield* chooseSlug(input.name, input.slug)
          return yield* sql.withTransaction(Effect.gen(function*() {
            const id = Secrets.newId("org")
            const rows = yield* sql<OrganizationRow>`
              INSERT INTO identity.organizations (id, name, slug) VALUES (${id}, ${input.name.trim()}, ${slug})
              RETURNING ${sql.unsafe(columns)}`
            yield* seedDefault(sql, id)
            if (creator.userId !== null) {
              yield* members.add(id, creator.userId, "owner")
              yield* sql`UPDATE identity.users SET default_organization_id = ${id} WHERE id = ${creator.userId}`
              yield* cache.changed("membership.added", creator.userId)
            }
            yield* audit.append({
              organizationId: id,
              actor: actorOf(creator),
              action: "identity.organization.create",
              target: { type: "organization", id },
              details: { name: input.name.trim(), slug }
            })
            return toRecord(rows[0])
          })).pipe(
            Effect.catchTag("SqlError", (error) =>
              uniqueViolation(error) === undefined
                ? Effect.die(error)
                : Effect.fail(new SlugTaken({ detail: `The organization slug "${slug}" is already taken.`, slug })))
          )
        })

      const registerAgent = (input: { readonly name: string; readonly ownerEmail: string | null }) =>
        sql.withTransaction(Effect.gen(function*() {
          const organizationId = Secrets.newId("org")
          const claimCode = Secrets.claimCode()
          yield* sql`
            INSERT INTO identity.organizations (id, name, created_by_agent, owner_email, claim_code_hash)
            VALUES (${organizationId}, ${input.name.trim()}, true, ${input.ownerEmail}, ${claimDigest(claimCode)})`
          yield* seedDefault(sql, organizationId)
          const user = yield* users.create({
            username: `agent-${slugify(input.name)?.slice(0, 40) ?? "agent"}-${Secrets.newId("x").slice(2, 10)}`,
            email: null,
            displayName: input.name.trim(),
            passwordHash: null,
            kind: "agent",
            organizationId,
            role: "owner"
          }).pipe(Effect.orDie)
          const key = yield* keys.create({
            kind: "user",
            organizationId,
            userId: user.id,
            name: input.name.trim(),
            scopes: ["*"],
            createdBy: user.id,
            secretKind: "surfletKey"
          })
          yield* audit.append({
            organizationId,
            actor: { id: user.id, kind: "agent" },
            action: "identity.agent.register",
            target: { type: "organization", id: organizationId },
            details: { name: input.name.trim(), owner_email: input.ownerEmail, user_id: user.id, key_id: key.record.id }
          })
          return { organizationId, userId: user.id, apiKey: key.secret, claimCode }
        })).pipe(Effect.orDie)

      const claim = (principal: Principal, code: string) =>
        Effect.gen(function*() {
          if (principal.userId === null) {
            return yield* new Forbidden({ detail: "Claiming an account makes a user its owner: sign in as that user." })
          }
          if (principal.agent) {
            return yield* new Forbidden({ detail: "An agent cannot claim an account: a human signs in and claims it." })
          }
          const userId = principal.userId
          return yield* sql.withTransaction(Effect.gen(function*() {
            // The update is the single use: a second presentation finds `claimed_at` set.
            const rows = yield* sql<OrganizationRow>`
              UPDATE identity.organizations SET claimed_at = now()
              WHERE claim_code_hash = ${claimDigest(code)} AND claimed_at IS NULL
              RETURNING ${sql.unsafe(columns)}`
            const org = rows[0]
            if (org === undefined) {
              return yield* new InvalidToken({ detail: "This claim code is unknown or was already used." })
            }
            yield* sql`
              INSERT INTO identity.memberships (organization_id, user_id, role) VALUES (${org.id}, ${userId}, 'owner')
              ON CONFLICT (organization_id, user_id) DO UPDATE SET role = 'owner'`
            yield* cache.changed("membership.added", userId)
            yield* audit.append({
              organizationId: org.id,
              actor: actorOf(principal),
              action: "identity.tenant.claim",
              target: { type: "organization", id: org.id },
              details: { user_id: userId }
            })
            return toRecord(org)
          })).pipe(Row.dieOnInfrastructure)
        })

      return Organizations.of({ get, create, registerAgent, claim })
    })
  )
}
