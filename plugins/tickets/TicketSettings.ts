/**
 * Per-organization ticket settings, stored in `tickets.organization_settings`. Today one:
 * `require_lease_epoch_on_ticket_writes` (SessionFS's organization setting), which turns the
 * optional `lease_epoch` fence of complete, comment, resolve and update into a required one
 * (422 when omitted). Organizations without a row use the defaults.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog, CurrentPrincipal } from "trellis/plugin"
import type { TicketSettings as Settings } from "./Domain.ts"
import { LeaseEpochRequired } from "./Errors.ts"

const decodeRows = Schema.decodeUnknownEffect(Schema.Array(Schema.Struct({
  require_lease_epoch_on_ticket_writes: Schema.Boolean
})))

export class TicketSettings extends Context.Service<TicketSettings, {
  readonly get: Effect.Effect<Settings, never, CurrentPrincipal>
  readonly set: (settings: Settings) => Effect.Effect<Settings, never, CurrentPrincipal>
  /** Fails when the caller's organization requires `lease_epoch` and none was passed. */
  readonly requireLease: (leaseEpoch: number | undefined) => Effect.Effect<void, LeaseEpochRequired, CurrentPrincipal>
}>()("tickets/TicketSettings") {
  static readonly layer = Layer.effect(
    TicketSettings,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLog

      const get = Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const rows = yield* sql`
          SELECT require_lease_epoch_on_ticket_writes FROM tickets.organization_settings
          WHERE organization_id = ${principal.organizationId}
        `.pipe(Effect.flatMap(decodeRows), Effect.orDie)
        return { require_lease_epoch_on_ticket_writes: rows[0]?.require_lease_epoch_on_ticket_writes ?? false }
      })

      const set = Effect.fn("TicketSettings.set")(function*(settings: Settings) {
        const principal = yield* CurrentPrincipal
        yield* sql.withTransaction(Effect.gen(function*() {
          yield* sql`
            INSERT INTO tickets.organization_settings (organization_id, require_lease_epoch_on_ticket_writes, updated_at)
            VALUES (${principal.organizationId}, ${settings.require_lease_epoch_on_ticket_writes}, now())
            ON CONFLICT (organization_id) DO UPDATE
              SET require_lease_epoch_on_ticket_writes = EXCLUDED.require_lease_epoch_on_ticket_writes, updated_at = now()
          `
          yield* audit.record("tickets.settings.update", { type: "organization", id: principal.organizationId }, { ...settings })
        })).pipe(Effect.orDie)
        return yield* get
      })

      const requireLease = Effect.fnUntraced(function*(leaseEpoch: number | undefined) {
        if (leaseEpoch !== undefined) return
        const settings = yield* get
        if (settings.require_lease_epoch_on_ticket_writes) {
          return yield* new LeaseEpochRequired({
            setting: "require_lease_epoch_on_ticket_writes",
            detail: "This organization requires lease_epoch on ticket writes (setting: require_lease_epoch_on_ticket_writes). " +
              "Pass lease_epoch from your start_ticket response, or ask an admin to disable the requirement."
          })
        }
      })

      return TicketSettings.of({ get, set, requireLease })
    })
  )
}
