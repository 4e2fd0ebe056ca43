/**
 * `trellis plugin new <name>`: writes a new plugin package from the templates of
 * PluginTemplate.ts into `<directory>/<name without scope>`, and refuses a bad name or id, or a
 * folder that is already there, before writing anything.
 */
import { Effect, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { files, ranges } from "./PluginTemplate.ts"

export class PluginScaffoldError extends Schema.TaggedError<PluginScaffoldError>()("PluginScaffoldError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `Cannot create the plugin: ${this.reason}`
  }
}

/** npm's rule for a package name (lowercase, URL-safe, optionally scoped). */
const packagePattern = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]{0,213}$/
/** The host's rule for a plugin id: it is also the plugin's PostgreSQL schema (PluginHost.ts). */
const idPattern = /^[a-z][a-z0-9_]{0,39}$/
const reservedIds = new Set(["public", "information_schema", "pg_catalog", "pg_toast", "trellis", "audit", "identity", "jobs", "ai"])

/** The plugin id a package name suggests: `@acme/trellis-plugin-crm-notes` -> `crm_notes`. */
export const idFor = (packageName: string): string =>
  packageName.replace(/^@[^/]+\//, "").replace(/^trellis-plugin-|^trellis-/, "").replace(/[-.~]/g, "_")

const camel = (id: string) => id.split("_").filter((s) => s !== "").map((s) => s[0].toUpperCase() + s.slice(1)).join("")

export interface Options {
  readonly name: string
  readonly id?: string | undefined
  /** The parent folder; the plugin's folder is `<directory>/<name without scope>`. */
  readonly directory: string
}

export interface Created {
  readonly folder: string
  readonly id: string
  readonly files: ReadonlyArray<string>
}

/** The template files with their placeholders filled in. */
export const render = (name: string, id: string, dir: string): ReadonlyArray<{ readonly path: string; readonly text: string }> => {
  const values: Record<string, string> = {
    ...ranges,
    __PACKAGE__: name,
    __DIR__: dir,
    __ID_UPPER__: id.toUpperCase(),
    __ID_CAMEL__: camel(id),
    __ID__: id
  }
  const pattern = new RegExp(Object.keys(values).join("|"), "g")
  return files.map((file) => ({ path: file.path, text: file.text.replace(pattern, (key) => values[key] ?? key) }))
}

export const create = (options: Options) =>
  Effect.gen(function*() {
    const fail = (reason: string) => Effect.fail(new PluginScaffoldError({ reason }))
    if (!packagePattern.test(options.name)) {
      return yield* fail(`${JSON.stringify(options.name)} is not an npm package name (lowercase letters, digits, - . _ ~, optionally @scope/)`)
    }
    const id = options.id ?? idFor(options.name)
    if (!idPattern.test(id) || reservedIds.has(id)) {
      return yield* fail(
        `the plugin id ${JSON.stringify(id)} is not allowed (a lowercase letter, then up to 39 lowercase letters, digits or _; ` +
          `not ${[...reservedIds].join(", ")}): give one with --id`
      )
    }
    const dir = options.name.replace(/^@[^/]+\//, "")
    const folder = NodePath.resolve(options.directory, dir)
    if (NodeFs.existsSync(folder) && (!NodeFs.statSync(folder).isDirectory() || NodeFs.readdirSync(folder).length > 0)) {
      return yield* fail(`${folder} already exists and is not empty`)
    }
    const rendered = render(options.name, id, dir)
    yield* Effect.try({
      try: () => {
        for (const file of rendered) {
          const target = NodePath.join(folder, file.path)
          NodeFs.mkdirSync(NodePath.dirname(target), { recursive: true })
          NodeFs.writeFileSync(target, file.text, { flag: "wx" })
        }
      },
      catch: (cause) => new PluginScaffoldError({ reason: cause instanceof Error ? cause.message : String(cause) })
    })
    return { folder, id, files: rendered.map((f) => f.path) } satisfies Created
  })
