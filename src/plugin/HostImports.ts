/**
 * One `effect` per process. A plugin must use the host's `effect` and `trellis` modules:
 * services, schemas and redacted values are matched by identity, and a second copy of
 * `effect` makes every request of the plugin fail ("Unable to get redacted value"). A plugin
 * package that installed its own `effect` (its dev dependencies, a linked folder) would get
 * that second copy from plain module resolution.
 *
 * So a module hook (`module.registerHooks`, on Node 24 and Deno 2) resolves the bare imports
 * `effect[/...]`, `trellis/...` and `@effect/...` of every file inside a loaded plugin's package
 * folder as if the host had written them: the plugin gets the host's own files. And while a
 * plugin loads, any module resolved inside another `node_modules/effect` folder (a dependency
 * outside the plugin's folder with its own copy, an import by path) stops the load with
 * {@link SecondEffectCopy}, naming the plugin and both folders.
 *
 * Inside the single binary, src/sea/HostModules.ts serves the bundled modules instead.
 */
import * as NodeFs from "node:fs"
import { registerHooks } from "node:module"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"

/** The load of `plugin` would bring a second copy of `effect` into the process. */
export class SecondEffectCopy extends Error {
  constructor(plugin: string, hostEffect: string, pluginEffect: string) {
    super(
      `plugin ${JSON.stringify(plugin)} would load a second copy of \`effect\` from ${pluginEffect}, ` +
        `but the host's \`effect\` is ${hostEffect}. A plugin must share the host's copy: make \`effect\` ` +
        `(and \`trellis\`) peer dependencies of the plugin, and do not bundle them into its JavaScript.`
    )
    this.name = "SecondEffectCopy"
  }
}

/**
 * The modules a plugin shares with the host, by bare specifier. `@effect/*` packages only for
 * the plugin's own files (`ownFile`): a package in the plugin's `node_modules` keeps the
 * versions it chose of those.
 */
const isShared = (specifier: string, ownFile: boolean): boolean =>
  specifier === "effect" || specifier.startsWith("effect/") || specifier.startsWith("trellis/") ||
  (ownFile && specifier.startsWith("@effect/"))

const EFFECT_DIR = /^(.*[\\/]node_modules[\\/]effect)(?:[\\/]|$)/

/** The `node_modules/effect` folder a file URL lies in, if any. */
const effectFolder = (url: string): string | undefined => {
  if (!url.startsWith("file:")) return undefined
  const match = EFFECT_DIR.exec(fileURLToPath(url))
  return match === null ? undefined : realpath(match[1])
}

const realpath = (path: string): string => {
  try {
    return NodeFs.realpathSync(path)
  } catch {
    return path
  }
}

/** The folder of the nearest package.json above a file (the file's own folder if none). */
export const packageFolder = (file: string): string => {
  let dir = NodePath.dirname(realpath(file))
  for (;;) {
    if (NodeFs.existsSync(NodePath.join(dir, "package.json"))) return dir
    const parent = NodePath.dirname(dir)
    if (parent === dir) return NodePath.dirname(realpath(file))
    dir = parent
  }
}

/** Package folders of loaded plugins, each with the plugin's name (its TRELLIS_PLUGINS entry). */
const roots: Array<{ readonly folder: string; readonly plugin: string }> = []
/** The plugin being imported: its name and the specifier its entry module is imported by. */
let loading: { readonly plugin: string; readonly specifier: string } | undefined
let installed = false

const within = (path: string, folder: string) => path === folder || path.startsWith(folder + NodePath.sep)

/** The plugin whose package folder holds the importing file, and whether the file is its own. */
const rootOf = (parentURL: string | undefined): { readonly plugin: string; readonly ownFile: boolean } | undefined => {
  if (parentURL === undefined || !parentURL.startsWith("file:")) return undefined
  const path = fileURLToPath(parentURL)
  const root = roots.find((r) => within(path, r.folder))
  if (root === undefined) return undefined
  return { plugin: root.plugin, ownFile: !NodePath.relative(root.folder, path).split(NodePath.sep).includes("node_modules") }
}

/** The single binary registers its own hook (HostModules.ts) under this global. */
const inBinary = () => Symbol.for("trellis/host-modules") in globalThis

/** Installs the hook once (not inside the binary, nor where `registerHooks` is missing). */
const install = (): void => {
  if (installed) return
  installed = true
  if (inBinary() || typeof registerHooks !== "function") return
  // The host's own files resolve from here: anything under this package's folder.
  const anchor = import.meta.url
  let hostEffect: string | undefined
  registerHooks({
    resolve(specifier, context, next) {
      const importer = rootOf(context.parentURL)
      if (importer !== undefined && isShared(specifier, importer.ownFile)) {
        try {
          return { ...next(specifier, { ...context, parentURL: anchor }), shortCircuit: true }
        } catch {
          // not one of the host's packages (an `@effect/...` the host does not use): the plugin's own
        }
      }
      const resolved = next(specifier, context)
      if (loading !== undefined && specifier === loading.specifier && resolved.url.startsWith("file:")) {
        // the plugin's entry module: its package folder shares the host's modules from now on
        roots.push({ folder: packageFolder(fileURLToPath(resolved.url)), plugin: loading.plugin })
      }
      const current = importer?.plugin ?? loading?.plugin
      if (current !== undefined) {
        const folder = effectFolder(resolved.url)
        if (folder !== undefined) {
          hostEffect ??= effectFolder(next("effect", { ...context, parentURL: anchor }).url)
          if (hostEffect !== undefined && folder !== hostEffect) throw new SecondEffectCopy(current, hostEffect, folder)
        }
      }
      return resolved
    }
  })
}

/**
 * Imports a plugin's module (a file URL or a package name) with the plugin's package folder
 * sharing the host's modules.
 */
export const importPlugin = async (plugin: string, specifier: string): Promise<Record<string, unknown>> => {
  install()
  loading = { plugin, specifier }
  try {
    return await import(specifier) as Record<string, unknown>
  } finally {
    loading = undefined
  }
}
