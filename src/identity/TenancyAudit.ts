/**
 * Audit entries for tenancy writes. Most are recorded in the caller's organization, but some
 * land in another one (accepting an invite, claiming a tenant, creating an organization), and
 * agent registration has no principal at all: so the entry names its organization and actor
 * explicitly, and takes the request id from the request.
 */
import { Effect } from "effect"
import type { AuditLog, AuditTarget } from "../audit/AuditLog.ts"
import type { Principal } from "../auth/Principal.ts"
import { CurrentRequestId } from "../http/RequestId.ts"

export interface Actor {
  readonly id: string
  readonly kind: string
}

/** The audit actor of a principal. */
export const actorOf = (principal: Principal): Actor => ({ id: principal.id, kind: principal.kind })

/** Appends an entry in `organizationId`; call inside the write's transaction. */
export const record = (
  audit: AuditLog["Service"],
  entry: {
    readonly organizationId: string
    readonly actor: Actor
    readonly action: string
    readonly target: AuditTarget | null
    readonly details?: Record<string, unknown> | undefined
  }
) =>
  Effect.gen(function*() {
    const requestId = yield* CurrentRequestId
    yield* audit.append({ ...entry, requestId })
  })
