/** Helpers the tickets tests share: JSON bodies, a fresh project, a ticket, a claim. */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import type { HttpClientResponse } from "effect/http"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"

export interface ProblemBody {
  readonly status: number
  readonly code: string
  readonly detail?: string
  readonly [key: string]: unknown
}

export interface TicketBody {
  readonly id: string
  readonly project_id: string
  readonly title: string
  readonly description: string
  readonly status: string
  readonly kind: string
  readonly priority: string
  readonly lease_epoch: number
  readonly lease_holder: string | null
  readonly lease_expires_at: string | null
  readonly depends_on: ReadonlyArray<string>
  readonly child_ticket_ids: ReadonlyArray<string>
  readonly parent_ticket_id: string | null
  readonly assigned_to: string | null
  readonly created_by_user_id: string
  readonly completion_notes: string | null
  readonly context_refs: ReadonlyArray<string>
  readonly acceptance_criteria: ReadonlyArray<string>
  readonly file_refs: ReadonlyArray<string>
  readonly resolved_at: string | null
  readonly updated_at: string
  readonly [key: string]: unknown
}

export interface CommentBody {
  readonly id: string
  readonly ticket_id: string
  readonly author_user_id: string
  readonly author_persona: string | null
  readonly content: string
  readonly session_id: string | null
  readonly created_at: string
}

export const json = <A>(response: HttpClientResponse.HttpClientResponse) => Effect.map(response.json, (body) => body as A)

/** The response's JSON body, after asserting its status. */
export const expect = <A>(response: HttpClientResponse.HttpClientResponse, status: number) =>
  Effect.gen(function*() {
    const body = yield* response.json
    assert.strictEqual(response.status, status, JSON.stringify(body))
    return body as A
  })

/** A new project with a unique remote, as the given token (the admin token by default). */
export const project = (token?: string) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const suffix = crypto.randomUUID().slice(0, 8)
    const response = yield* kit.request("POST", "/api/v1/projects/", {
      body: { name: `p-${suffix}`, git_remote_normalized: `acme/p-${suffix}` },
      token
    })
    return yield* expect<{ id: string; name: string; git_remote_normalized: string; owner_id: string }>(response, 201)
  })

export const createTicket = (projectId: string, body: Record<string, unknown>, token?: string) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    return yield* expect<TicketBody>(yield* kit.request("POST", `/api/v1/projects/${projectId}/tickets`, { body, token }), 201)
  })

export const ticketPath = (projectId: string, ticketId: string, rest = "") => `/api/v1/projects/${projectId}/tickets/${ticketId}${rest}`

/** Claims a ticket and returns the started envelope. */
export const start = (projectId: string, ticketId: string, token?: string) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    return yield* expect<{ ticket: TicketBody; compiled_context: string; retrieval_audit_id: string }>(
      yield* kit.request("POST", ticketPath(projectId, ticketId, "/start"), { token }),
      200
    )
  })

export const getTicket = (projectId: string, ticketId: string, token?: string) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    return yield* expect<TicketBody & { dependents: ReadonlyArray<string>; recent_comments: ReadonlyArray<CommentBody> }>(
      yield* kit.request("GET", ticketPath(projectId, ticketId), { token }),
      200
    )
  })

/**
 * A new user with a user key: a member of `organizationId` with `role` (an organization other
 * than the default one is created on the way). The role and organization are set before the key
 * is first used, so no credential cache has seen it yet.
 */
export const member = (role: "viewer" | "editor" | "admin" | "owner", organizationId = "org_default") =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const sql = yield* SqlClient.SqlClient
    const name = `u-${crypto.randomUUID().slice(0, 8)}`
    const password = "tickets member password 1"
    if (organizationId !== "org_default") {
      yield* sql`INSERT INTO identity.organizations (id, name) VALUES (${organizationId}, ${organizationId}) ON CONFLICT (id) DO NOTHING`
    }
    // Signup never joins an existing organization: the admin token adds the member, who signs
    // in and mints a user key (the key's creation spends one call of the user's rate budget).
    const created = yield* expect<{ data: { id: string } }>(
      yield* kit.request("POST", "/api/users", {
        body: { username: name, password, email: `${name}@example.test`, role },
        headers: organizationId === "org_default" ? undefined : { "x-trellis-organization": organizationId }
      }),
      201
    )
    const login = yield* expect<{ token: string }>(
      yield* kit.request("POST", "/api/login", { body: { username: name, password }, token: null }),
      200
    )
    const key = yield* expect<{ raw_key: string }>(
      yield* kit.request("POST", "/api/v1/auth/keys", { token: login.token, body: { name: "tickets test" } }),
      201
    )
    return { userId: created.data.id, key: key.raw_key }
  })

/** A service key with these scopes (and project restriction), minted by an admin of the organization. */
export const serviceKey = (
  scopes: ReadonlyArray<string>,
  options: { readonly projectIds?: ReadonlyArray<string>; readonly organizationId?: string; readonly token?: string } = {}
) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request("POST", `/api/v1/orgs/${options.organizationId ?? "org_default"}/service-keys`, {
      body: {
        name: `svc-${crypto.randomUUID().slice(0, 6)}`,
        scopes,
        ...(options.projectIds === undefined ? {} : { project_ids: options.projectIds })
      },
      token: options.token
    })
    return yield* expect<{ id: string; key: string }>(response, 201)
  })

/** How many audit entries the platform holds for this action and target. */
export const auditCount = (action: string, targetId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ n: number | string | bigint }>`
      SELECT count(*) AS n FROM audit.entries WHERE action = ${action} AND target_id = ${targetId}`
    return Number(row.n)
  })

/** The comments stored for a ticket, oldest first (straight from the table). */
export const storedComments = (ticketId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql<{ id: string; author_persona: string | null; content: string }>`
      SELECT id, author_persona, content FROM tickets.ticket_comments WHERE ticket_id = ${ticketId} ORDER BY created_at, id`
  })

/** The edit-audit rows stored for a ticket. */
export const storedEdits = (ticketId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql<{ field_name: string }>`
      SELECT field_name FROM tickets.ticket_edits WHERE ticket_id = ${ticketId} ORDER BY edited_at, id`
  })

/** Sets a ticket's kind and status directly, to test a transition from there. */
export const forceState = (ticketId: string, kind: string, status: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      UPDATE tickets.tickets
      SET kind = ${kind}, status = ${status},
          lease_expires_at = CASE WHEN ${status} = 'in_progress' THEN now() + interval '1 hour' ELSE NULL END
      WHERE id = ${ticketId}`
  })

/** Makes a ticket's lease lapse now, as if its TTL had passed. */
export const expireLease = (ticketId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`UPDATE tickets.tickets SET lease_expires_at = now() - interval '1 second' WHERE id = ${ticketId}`
  })
