/**
 * Outgoing email (invites, verification links), behind a service so that the delivery is
 * pluggable: `layerLog` writes each message to the log (the default: a self-hosted server
 * with no mail relay still works, and an operator can copy the link), `layerSmtp` sends it
 * through an SMTP relay with nodemailer.
 */
import { Context, Effect, Layer, Redacted } from "effect"
import { createTransport } from "nodemailer"
import { TrellisConfig } from "../config/TrellisConfig.ts"

export interface Message {
  readonly to: string
  readonly subject: string
  readonly text: string
}

export class MailError extends Error {
  readonly _tag = "MailError"
}

export class Mailer extends Context.Service<Mailer, {
  readonly send: (message: Message) => Effect.Effect<void, MailError>
}>()("trellis/identity/Mailer") {}

/** Logs every message instead of sending it. */
export const layerLog = Layer.succeed(
  Mailer,
  Mailer.of({
    send: (message) =>
      Effect.logInfo("email (not sent: no SMTP relay configured)").pipe(
        Effect.annotateLogs({ to: message.to, subject: message.subject, text: message.text })
      )
  })
)

/** Sends through an SMTP relay (`smtp://user:pass@host:587`, `smtps://…`). */
export const layerSmtp = (options: { readonly url: Redacted.Redacted<string>; readonly from: string }) =>
  Layer.sync(Mailer, () => {
    // Short timeouts: mail is sent while a request waits (best effort), so a relay that does
    // not answer must not hold the request for nodemailer's default two minutes.
    const transport = createTransport({ url: Redacted.value(options.url), connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 })
    return Mailer.of({
      send: (message) =>
        Effect.tryPromise({
          try: () => transport.sendMail({ from: options.from, to: message.to, subject: message.subject, text: message.text }),
          catch: (cause) => new MailError(`SMTP delivery to ${message.to} failed: ${String(cause)}`)
        }).pipe(Effect.asVoid)
    })
  })

/** The sender when `TRELLIS_MAIL_FROM` is unset: `noreply@` the public URL's host (or `localhost`). */
export const defaultFrom = (publicUrl: string | undefined): string =>
  `noreply@${publicUrl === undefined ? "localhost" : new URL(publicUrl).hostname}`

/** The configured mailer: SMTP when `TRELLIS_SMTP_URL` is set, else the log. */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const config = yield* TrellisConfig
  return config.smtpUrl === undefined
    ? layerLog
    : layerSmtp({ url: config.smtpUrl, from: config.mailFrom ?? defaultFrom(config.publicUrl) })
}))
