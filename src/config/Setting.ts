/**
 * Declared configuration. Every variable the server reads, the platform's and each plugin's, is
 * one `Setting`: its name, its default (the one place the default is written), a Schema that
 * validates the text, a description and whether it is a secret. From these declarations the
 * host builds the start-up validation (a bad value stops the start naming the variable, before
 * listening), the `trellis serve` flags, and the README table check.
 *
 * A plugin declares its settings as a typed service:
 *
 * ```ts
 * export class HelloConfig extends Setting.Service<HelloConfig>()("hello/HelloConfig", {
 *   greeting: Setting.text("TRELLIS_HELLO_GREETING", { default: "Hello", description: "..." })
 * }) {}
 * // Plugin.make({ ..., config: HelloConfig, layer })  and in the layer: (yield* HelloConfig).greeting
 * ```
 *
 * Secrets decode to `Redacted` and are never echoed in an error message.
 */
import { Config, Context, Effect, Layer, Option, Redacted, Schema } from "effect"

/** A bad value for a declared variable: the server does not start. */
export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  variable: Schema.String,
  value: Schema.String,
  expected: Schema.String
}) {
  override get message(): string {
    return `Invalid configuration: ${this.variable}=${JSON.stringify(this.value)}; expected ${this.expected}.`
  }
}

/** How `trellis serve` takes the variable as a flag (help shows the type; a typo is refused). */
export type FlagKind =
  | { readonly _tag: "integer" }
  | { readonly _tag: "choice"; readonly choices: ReadonlyArray<string> }
  | { readonly _tag: "text" }

/** One declared variable, decoding to `A`. */
export interface Setting<out A> {
  /** The environment variable. */
  readonly name: string
  /** The `trellis serve` flag (`TRELLIS_PORT` → `--port`). */
  readonly flag: string
  readonly description: string
  /** Secrets are `Redacted` and never echoed in an error. */
  readonly secret: boolean
  /** The value when the variable is unset or empty: the only place the default is written. */
  readonly default: A
  /** The default as the README table shows it. */
  readonly shownDefault: string
  /** What a valid value looks like, for the error message. */
  readonly expected: string
  readonly flagKind: FlagKind
  /** Validates and decodes the (trimmed, non-empty) text; `None`: refused. */
  readonly decode: (text: string) => Option.Option<A>
}

/** Any setting, with its value type erased. */
export type Any = Setting<unknown>

/** `TRELLIS_EVENTS_RETENTION_HOURS` → `--events-retention-hours`, `DATABASE_URL` → `--database-url`. */
export const flagOf = (name: string): string => `--${name.replace(/^TRELLIS_/, "").toLowerCase().replaceAll("_", "-")}`

interface Common {
  readonly description: string
  /** Overrides the derived flag name. */
  readonly flag?: string | undefined
}

/**
 * The general form: any Schema that decodes the variable's text. The constructors below cover
 * the usual kinds; use this one for a kind of your own.
 */
export const make = <A>(name: string, options: Common & {
  readonly schema: Schema.Decoder<A>
  readonly default: A
  readonly shownDefault: string
  readonly expected: string
  readonly secret?: boolean | undefined
  readonly flagKind?: FlagKind | undefined
  /** Applied to the trimmed text before decoding (e.g. lower-casing a choice). */
  readonly normalize?: ((text: string) => string) | undefined
}): Setting<A> => {
  const decode = Schema.decodeUnknownOption(options.schema)
  const normalize = options.normalize ?? ((text: string) => text)
  return {
    name,
    flag: options.flag ?? flagOf(name),
    description: options.description,
    secret: options.secret ?? false,
    default: options.default,
    shownDefault: options.shownDefault,
    expected: options.expected,
    flagKind: options.flagKind ?? { _tag: "text" },
    decode: (text) => decode(normalize(text))
  }
}

/** A whole number from `min` to `max`. */
export const integer = (name: string, options: Common & {
  readonly default: number
  readonly min: number
  readonly max: number
  /** What the range means, when "an integer from min to max" says too little. */
  readonly expected?: string | undefined
}): Setting<number> =>
  make(name, {
    ...options,
    schema: Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: options.min, maximum: options.max })),
    shownDefault: String(options.default),
    expected: options.expected ?? `an integer from ${options.min} to ${options.max}`,
    flagKind: { _tag: "integer" },
    normalize: (text) => /^-?\d+$/.test(text) ? text : "NaN"
  })

/** One of a few words, case-insensitive. */
export const literals = <const L extends ReadonlyArray<string>>(name: string, choices: L, options: Common & {
  readonly default: L[number]
}): Setting<L[number]> =>
  make(name, {
    ...options,
    schema: Schema.Literals(choices),
    shownDefault: options.default,
    expected: `one of ${choices.join(", ")}`,
    flagKind: { _tag: "choice", choices },
    normalize: (text) => text.toLowerCase()
  })

/** `true` or `false`. */
export const boolean = (name: string, options: Common & { readonly default: boolean }): Setting<boolean> => {
  const words = literals(name, ["true", "false"], { ...options, default: options.default ? "true" : "false" })
  return { ...words, default: options.default, decode: (text) => Option.map(words.decode(text), (word) => word === "true") }
}

/** Free text, with an optional Schema check. */
export function text(name: string, options: Common & {
  readonly default: string
  readonly check?: { readonly schema: Schema.Decoder<string>; readonly expected: string } | undefined
}): Setting<string>
export function text(name: string, options: Common & {
  readonly default?: undefined
  /** What unset means, for the README (`(unset: ...)`). */
  readonly unset: string
  readonly check?: { readonly schema: Schema.Decoder<string>; readonly expected: string } | undefined
}): Setting<string | undefined>
export function text(name: string, options: Common & {
  readonly default?: string | undefined
  readonly unset?: string | undefined
  readonly check?: { readonly schema: Schema.Decoder<string>; readonly expected: string } | undefined
}): Setting<string | undefined> {
  return make<string | undefined>(name, {
    ...options,
    schema: options.check?.schema ?? Schema.String,
    default: options.default,
    shownDefault: options.default ?? options.unset ?? "(unset)",
    expected: options.check?.expected ?? "text"
  })
}

/** Text that is a URL with one of `protocols` (`["https:"]`). */
export const urlSchema = (protocols: ReadonlyArray<string>): Schema.Decoder<string> =>
  Schema.String.check(Schema.makeFilter((s: string) => URL.canParse(s) && protocols.includes(new URL(s).protocol)))

/** A URL with one of `protocols` (`["https:"]`); unset by default. */
export const url = (name: string, protocols: ReadonlyArray<string>, options: Common & {
  readonly unset: string
  readonly secret?: boolean | undefined
}): Setting<string | undefined> =>
  make<string | undefined>(name, {
    ...options,
    schema: urlSchema(protocols),
    default: undefined,
    shownDefault: options.unset,
    expected: `a ${protocols.join(" or ")} URL`
  })

/** A comma-separated list; each item checked by `item` when given. */
export const list = (name: string, options: Common & {
  readonly unset: string
  readonly item?: { readonly schema: Schema.Decoder<string>; readonly expected: string } | undefined
}): Setting<ReadonlyArray<string>> => {
  const decodeItems = Schema.decodeUnknownOption(Schema.Array(options.item?.schema ?? Schema.String))
  return {
    name,
    flag: options.flag ?? flagOf(name),
    description: options.description,
    secret: false,
    default: [],
    shownDefault: options.unset,
    expected: options.item?.expected ?? "a comma-separated list",
    flagKind: { _tag: "text" },
    decode: (raw) => decodeItems(raw.split(",").map((s) => s.trim()).filter((s) => s !== ""))
  }
}

/** A secret: `Redacted` from the start, never echoed in an error; unset by default. */
export const secret = (name: string, options: Common & {
  readonly unset: string
  readonly check?: { readonly schema: Schema.Decoder<string>; readonly expected: string } | undefined
}): Setting<Redacted.Redacted<string> | undefined> => {
  const plain = text(name, options)
  return {
    ...plain,
    secret: true,
    default: undefined,
    decode: (raw) => Option.map(plain.decode(raw), (value) => value === undefined ? undefined : Redacted.make(value))
  }
}

/** The settings of one service, by field. */
export type Fields = Readonly<Record<string, Any>>

/** The decoded values of `F`. */
export type Shape<F extends Fields> = { readonly [K in keyof F]: F[K] extends Setting<infer A> ? A : never }

/** Decodes one setting from its raw value (absent or blank: the default). */
export const decodeOne = <A>(setting: Setting<A>, raw: string | undefined): Effect.Effect<A, ConfigInvalid> => {
  if (raw === undefined || raw.trim() === "") return Effect.succeed(setting.default)
  const decoded = setting.decode(raw.trim())
  return Option.isSome(decoded)
    ? Effect.succeed(decoded.value)
    : Effect.fail(new ConfigInvalid({ variable: setting.name, value: setting.secret ? "(hidden)" : raw, expected: setting.expected }))
}

/** Decodes every field from a record of variables (the environment with flags merged over it). */
export const fromRecord = <F extends Fields>(fields: F, record: Readonly<Record<string, string | undefined>>): Effect.Effect<Shape<F>, ConfigInvalid> =>
  Effect.map(
    Effect.forEach(Object.entries(fields), ([key, setting]) => Effect.map(decodeOne(setting, record[setting.name]), (value) => [key, value] as const)),
    (entries) => Object.fromEntries(entries) as Shape<F>
  )

/** Decodes every field from Effect's current `ConfigProvider` (the environment unless provided). */
export const fromConfigProvider = <F extends Fields>(fields: F): Effect.Effect<Shape<F>, ConfigInvalid> =>
  Effect.flatMap(
    Effect.forEach(Object.values(fields), (setting) => Effect.map(rawValue(setting.name), (raw) => [setting.name, raw] as const)),
    (entries) => fromRecord(fields, Object.fromEntries(entries))
  )

const rawValue = (name: string): Effect.Effect<string | undefined> =>
  Effect.orDie(Effect.gen(function*() {
    return Option.getOrUndefined(yield* Config.option(Config.String(name)))
  }))

/** What the host needs of a plugin's configuration (`Plugin.config`), its types erased. */
export interface Declaration {
  /** The declared variables: `serve` flags, the README check. */
  readonly variables: ReadonlyArray<Any>
  /** Reads and validates every variable (from the current `ConfigProvider`); the typed service. */
  readonly load: Effect.Effect<Context.Context<never>, ConfigInvalid>
}

/**
 * A typed configuration service derived from its settings: the class is the service's tag
 * (`yield* TicketsConfig`) and the declaration the host reads (`Plugin.config`).
 */
export interface ServiceClass<Self, F extends Fields> extends Context.ServiceClass<Self, string, Shape<F>> {
  readonly fields: F
  readonly variables: ReadonlyArray<Any>
  readonly load: Effect.Effect<Context.Context<Self>, ConfigInvalid>
  /** Reads a record of variables (tests, tools). */
  readonly fromRecord: (record: Readonly<Record<string, string | undefined>>) => Effect.Effect<Shape<F>, ConfigInvalid>
  /** The service with explicit values (tests, embedding); unnamed fields take their defaults. */
  readonly layer: (values?: Partial<Shape<F>>) => Layer.Layer<Self>
  /** The service read from the current `ConfigProvider`. */
  readonly layerFromConfig: Layer.Layer<Self, ConfigInvalid>
}

// The explicit return type keeps emitted declarations (the npm package's `.d.ts`) nameable.
export const Service = <Self>() => <const F extends Fields>(key: string, fields: F): ServiceClass<Self, F> => {
  const Tag = Context.Service<Self, Shape<F>>()(key)
  const load = Effect.map(fromConfigProvider(fields), (shape) => Context.make(Tag, shape))
  return class extends Tag {
    static readonly fields: F = fields
    static readonly variables: ReadonlyArray<Any> = Object.values(fields)
    static readonly load: Effect.Effect<Context.Context<Self>, ConfigInvalid> = load
    /** Reads a record of variables (tests, tools). */
    static readonly fromRecord = (record: Readonly<Record<string, string | undefined>>) => fromRecord(fields, record)
    /** The service with explicit values (tests, embedding); unnamed fields take their defaults. */
    static readonly layer = (values: Partial<Shape<F>> = {}): Layer.Layer<Self> =>
      Layer.succeed(Tag, { ...defaults(fields), ...values })
    /** The service read from the current `ConfigProvider`. */
    static readonly layerFromConfig: Layer.Layer<Self, ConfigInvalid> = Layer.effectContext(load)
  }
}

/** Every field's default. */
export const defaults = <F extends Fields>(fields: F): Shape<F> =>
  Object.fromEntries(Object.entries(fields).map(([key, setting]) => [key, setting.default])) as Shape<F>
