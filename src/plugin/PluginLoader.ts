/**
 * Loads third-party plugins named in `TRELLIS_PLUGINS`: each entry is a module path (relative
 * to the working directory) or a package name, whose default export (or `plugin` export) is a
 * plugin value made with `Plugin.make`. A package name resolves like an import of the host: from
 * the `node_modules` that `trellis` is installed in. The plugin shares the host's `effect` and
 * `trellis` modules (HostImports.ts).
 */
import { Effect, Schema } from "effect"
import * as NodePath from "node:path"
import { pathToFileURL } from "node:url"
import { importPlugin } from "./HostImports.ts"
import * as Plugin from "./Plugin.ts"

export class PluginLoadError extends Schema.TaggedError<PluginLoadError>()("PluginLoadError", {
  specifier: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Cannot load plugin ${JSON.stringify(this.specifier)} (from TRELLIS_PLUGINS): ${this.reason}`
  }
}

const toImportSpecifier = (specifier: string, cwd: string) =>
  specifier.startsWith(".") || NodePath.isAbsolute(specifier)
    ? pathToFileURL(NodePath.resolve(cwd, specifier)).href
    : specifier

export const load = (specifier: string, cwd: string = process.cwd()) =>
  Effect.tryPromise({
    try: () => importPlugin(specifier, toImportSpecifier(specifier, cwd)),
    catch: (cause) => new PluginLoadError({ specifier, reason: cause instanceof Error ? cause.message : String(cause) })
  }).pipe(
    Effect.flatMap((module) => {
      const candidate = module.default ?? module.plugin
      return Plugin.isPlugin(candidate)
        ? Effect.succeed(candidate)
        : Effect.fail(new PluginLoadError({
          specifier,
          reason: "the module has no default (or `plugin`) export made with Plugin.make"
        }))
    })
  )

export const loadAll = (specifiers: ReadonlyArray<string>, cwd?: string) =>
  Effect.forEach(specifiers, (s) => load(s, cwd))
