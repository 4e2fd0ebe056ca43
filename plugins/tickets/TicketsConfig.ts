/**
 * The plugin-level settings of the tickets plugin, declared once (the host reads and checks
 * them at start, offers them as `trellis serve` flags and the README lists them). Today one: how
 * long a claim (`start`) holds a ticket before another worker may claim it again,
 * `TRELLIS_TICKETS_LEASE_SECONDS`. The default, 0, is SessionFS's behaviour: a claim never
 * expires (its clients never renew). A project may set its own length (`lease_seconds`); the
 * holder extends a lease with `renew`.
 */
import { Setting } from "trellis/plugin"

const maxLeaseSeconds = 31_536_000

export class TicketsConfig extends Setting.Service<TicketsConfig>()("tickets/TicketsConfig", {
  /** Seconds a lease lasts from its claim, unblock or renewal; `0`: it never expires. */
  leaseSeconds: Setting.integer("TRELLIS_TICKETS_LEASE_SECONDS", {
    default: 0,
    min: 0,
    max: maxLeaseSeconds,
    expected: `a whole number of seconds from 0 (never expires) to ${maxLeaseSeconds}`,
    description: "Tickets plugin: how long a ticket claim (`start`) holds before another worker may claim it; 0 (the default, SessionFS's behaviour) never expires. A project may set its own (`lease_seconds`); the holder extends a lease with `renew`."
  })
}) {}

export type TicketsConfigShape = typeof TicketsConfig.Service
