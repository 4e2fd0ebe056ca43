/**
 * The plugin-level settings of the tickets plugin. Today one: how long a claim (`start`)
 * holds a ticket before another worker may claim it again, `TRELLIS_TICKETS_LEASE_SECONDS`.
 * The default, 0, is SessionFS's behaviour: a claim never expires (its clients never renew).
 * A project may set its own length (`lease_seconds`); the holder extends a lease with `renew`.
 */
import { Config, Context, Effect, Layer, Option, Schema } from "effect"

export interface TicketsConfigShape {
  /** Seconds a lease lasts from its claim, unblock or renewal; `0`: it never expires. */
  readonly leaseSeconds: number
}

/** A bad value for one of the plugin's variables: the server does not start. */
export class TicketsConfigInvalid extends Schema.TaggedError<TicketsConfigInvalid>()("TicketsConfigInvalid", {
  variable: Schema.String,
  value: Schema.String,
  expected: Schema.String
}) {
  override get message(): string {
    return `Invalid configuration: ${this.variable}=${JSON.stringify(this.value)}; expected ${this.expected}.`
  }
}

const maxLeaseSeconds = 31_536_000

export class TicketsConfig extends Context.Service<TicketsConfig, TicketsConfigShape>()("tickets/TicketsConfig") {
  static readonly leaseSecondsVariable = "TRELLIS_TICKETS_LEASE_SECONDS"
  static readonly defaultLeaseSeconds = 0

  static readonly layer = (shape: TicketsConfigShape): Layer.Layer<TicketsConfig> => Layer.succeed(TicketsConfig, shape)

  /** Reads `TRELLIS_TICKETS_LEASE_SECONDS` from the environment (unset or empty: 0, never expires). */
  static readonly layerFromEnv: Layer.Layer<TicketsConfig, TicketsConfigInvalid | Config.ConfigError> = Layer.effect(
    TicketsConfig,
    Effect.gen(function*() {
      const raw = yield* Config.option(Config.String(TicketsConfig.leaseSecondsVariable))
      if (Option.isNone(raw) || raw.value.trim() === "") {
        return TicketsConfig.of({ leaseSeconds: TicketsConfig.defaultLeaseSeconds })
      }
      const value = raw.value.trim()
      const leaseSeconds = /^\d+$/.test(value) ? Number(value) : Number.NaN
      if (!Number.isInteger(leaseSeconds) || leaseSeconds < 0 || leaseSeconds > maxLeaseSeconds) {
        return yield* new TicketsConfigInvalid({
          variable: TicketsConfig.leaseSecondsVariable,
          value,
          expected: `a whole number of seconds from 0 (never expires) to ${maxLeaseSeconds}`
        })
      }
      return TicketsConfig.of({ leaseSeconds })
    })
  )
}
