/**
 * The two line formats of the server's log, `json` and `pretty`, as plain functions from one
 * Effect log call to one line of text.
 *
 * What a line holds: the time, the level, the message, the request id (`CurrentRequestId`,
 * inside a request), the log annotations of the fiber, the log spans, the cause when there is
 * one, and structured fields. Fields are given as a plain object after the message,
 * `Effect.logInfo("http", { method, status })`, the way the access log does: cheaper than
 * `Effect.annotateLogs` on a hot path, and rendered as top-level keys like annotations.
 *
 * - `json`: one JSON object per line, flat:
 *   `{"timestamp","level","message","requestId",...annotations,...fields,"spans","cause"}`.
 *   The keys `timestamp`, `level`, `message`, `requestId`, `spans` and `cause` are never
 *   overridden by a field or annotation of the same name.
 * - `pretty`: one line for people, `[HH:MM:SS.mmm] LEVEL message key=value ...` in local time,
 *   the cause's stack on the following lines, indented.
 */
import { Cause, References } from "effect"
import type { Logger, LogLevel } from "effect"
import { CurrentRequestId } from "../http/RequestId.ts"

export type LogFormat = "json" | "pretty"

/** Turns one log call into one line (without its newline). */
export type LineFormatter = (options: Logger.Options<unknown>) => string

const levelNames: Record<LogLevel.LogLevel, string> = {
  All: "ALL",
  Trace: "TRACE",
  Debug: "DEBUG",
  Info: "INFO",
  Warn: "WARN",
  Error: "ERROR",
  Fatal: "FATAL",
  None: "NONE"
}

const reserved = new Set(["timestamp", "level", "message", "requestId", "spans", "cause"])

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto: unknown = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/** JSON that never throws (cycles, bigints, throwing getters): falls back to `String`. */
const safeJson = (u: unknown): string => {
  try {
    return JSON.stringify(u, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)) ?? String(u)
  } catch {
    return String(u)
  }
}

const textOf = (u: unknown): string => {
  switch (typeof u) {
    case "string":
      return u
    case "number":
    case "boolean":
    case "bigint":
    case "undefined":
    case "symbol":
    case "function":
      return String(u)
    default:
      if (u instanceof Error) return `${u.name}: ${u.message}`
      return safeJson(u)
  }
}

interface Parts {
  readonly text: string
  readonly fields: Record<string, unknown> | undefined
}

/** The message text (non-object parts joined by spaces) and the fields (plain-object parts). */
const partsOf = (message: unknown): Parts => {
  if (!Array.isArray(message)) return isPlainObject(message) ? { text: "", fields: message } : { text: textOf(message), fields: undefined }
  if (message.length === 1) {
    const only: unknown = message[0]
    if (typeof only === "string") return { text: only, fields: undefined }
  }
  let text = ""
  let fields: Record<string, unknown> | undefined
  for (const part of message as ReadonlyArray<unknown>) {
    if (isPlainObject(part)) {
      fields = fields === undefined ? part : { ...fields, ...part }
    } else {
      const t = textOf(part)
      text = text === "" ? t : `${text} ${t}`
    }
  }
  return { text, fields }
}

const hasCause = (cause: Cause.Cause<unknown>): boolean => cause.reasons.length > 0

/**
 * One log line's content, without the fiber it came from: what the formats render. Code that
 * runs outside Effect (the HTTP fast path) builds one directly and writes it through
 * `TrellisLogger.LogWriter`, so its lines look exactly like the others.
 */
export interface Line {
  readonly date: Date
  readonly logLevel: LogLevel.LogLevel
  readonly text: string
  readonly fields: Readonly<Record<string, unknown>> | undefined
  readonly requestId: string | undefined
  readonly annotations: Readonly<Record<string, unknown>>
  readonly spans: ReadonlyArray<readonly [label: string, start: number]>
  readonly cause: Cause.Cause<unknown> | undefined
}

/** Renders one `Line` (without its newline). */
export type LineRenderer = (line: Line) => string

/** The line of one Effect log call: the fiber's request id, annotations and spans. */
const lineOf = ({ cause, date, fiber, logLevel, message }: Logger.Options<unknown>): Line => {
  const { fields, text } = partsOf(message)
  return {
    date,
    logLevel,
    text,
    fields,
    requestId: fiber.getRef(CurrentRequestId),
    annotations: fiber.getRef(References.CurrentLogAnnotations),
    spans: fiber.getRef(References.CurrentLogSpans),
    cause: hasCause(cause) ? cause : undefined
  }
}

/** One JSON object per line. */
const renderJson: LineRenderer = ({ annotations, cause, date, fields, logLevel, requestId, spans, text }) => {
  const record: Record<string, unknown> = { timestamp: date.toISOString(), level: levelNames[logLevel], message: text }
  if (requestId !== undefined) record.requestId = requestId
  for (const key in annotations) {
    if (!reserved.has(key)) record[key] = annotations[key]
  }
  if (fields !== undefined) {
    for (const key in fields) {
      if (!reserved.has(key)) record[key] = fields[key]
    }
  }
  if (spans.length > 0) {
    const now = date.getTime()
    const out: Record<string, number> = {}
    for (const [label, start] of spans) out[label] = now - start
    record.spans = out
  }
  if (cause !== undefined) record.cause = Cause.pretty(cause)
  return safeJson(record)
}

export const json: LineFormatter = (options) => renderJson(lineOf(options))

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n))
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n))

/** A bare word stays as it is; anything with spaces, quotes or `=` is quoted as JSON. */
const prettyValue = (u: unknown): string => {
  if (typeof u === "string") return /^[^\s"=]+$/.test(u) ? u : JSON.stringify(u)
  if (typeof u === "number" || typeof u === "boolean" || u === null || u === undefined) return String(u)
  return textOf(u)
}

/**
 * `[HH:MM:SS.` of the last second rendered: every line of one second shares it, and local time
 * (a time zone lookup per getter) is read once per second instead of three times per line.
 */
let clockSecond = Number.NaN
let clockPrefix = ""
const clockOf = (date: Date): string => {
  const ms = date.getTime()
  const second = Math.floor(ms / 1000)
  if (second !== clockSecond) {
    clockSecond = second
    clockPrefix = `[${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}.`
  }
  return clockPrefix + pad3(ms - second * 1000)
}

/** `[HH:MM:SS.mmm] LEVEL message key=value ...`, then the cause on indented lines. */
const renderPretty: LineRenderer = ({ annotations, cause, date, fields, logLevel, requestId, spans, text }) => {
  let line = `${clockOf(date)}] ${levelNames[logLevel]} ${text}`
  if (requestId !== undefined) line += ` requestId=${prettyValue(requestId)}`
  for (const key in annotations) line += ` ${key}=${prettyValue(annotations[key])}`
  if (fields !== undefined) {
    for (const key in fields) line += ` ${key}=${prettyValue(fields[key])}`
  }
  if (spans.length > 0) {
    const now = date.getTime()
    for (const [label, start] of spans) line += ` ${label}=${now - start}ms`
  }
  if (cause !== undefined) line += "\n  " + Cause.pretty(cause).split("\n").join("\n  ")
  return line
}

export const pretty: LineFormatter = (options) => renderPretty(lineOf(options))

export const formatters: Record<LogFormat, LineFormatter> = { json, pretty }

export const renderers: Record<LogFormat, LineRenderer> = { json: renderJson, pretty: renderPretty }
