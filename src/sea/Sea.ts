/**
 * Single-executable support (`npm run build:binary`). Inside the binary there is no
 * `node_modules`: a plugin file loaded from a path imports `effect` and `trellis/plugin` from the
 * binary's own bundled copies (see HostModules.ts). Elsewhere (Node, Deno, where `node:sea` may
 * not exist) this does nothing and loads nothing.
 */
import { Effect } from "effect"

const isSea = async (): Promise<boolean> => {
  try {
    const sea = await import("node:sea")
    return typeof sea.isSea === "function" && sea.isSea()
  } catch {
    return false
  }
}

/** Inside the binary: resolve plugins' imports of the host's packages to the bundled modules. */
export const setup: Effect.Effect<void> = Effect.promise(async () => {
  if (!(await isSea())) return
  const { install } = await import("./HostModules.ts")
  install()
})
