/**
 * The packages a plugin shares with the host, as the single binary bundles them. A plugin must
 * use the host's `effect` (services, schemas and redacted values are matched by identity), so
 * a module hook (`module.registerHooks`) answers the plugin's bare imports of `effect`,
 * `effect/<module>`, `effect/<package>[/<module>]`, `@effect/sql-pg[/<module>]` and
 * `trellis/plugin|contract|client` with these modules instead of files. Only loaded inside the
 * binary (see Sea.ts); elsewhere Node resolves them from `node_modules` as usual.
 */
import * as SqlPg from "@effect/sql-pg"
import * as Effect from "effect"
import * as EffectHttp from "effect/http"
import * as EffectHttpApi from "effect/http-api"
import * as EffectReactivity from "effect/reactivity"
import * as EffectRpc from "effect/rpc"
import * as EffectSocket from "effect/socket"
import * as EffectSql from "effect/sql"
import { registerHooks } from "node:module"
import * as TrellisClient from "../client/Client.ts"
import * as TrellisContract from "../plugin/contract.ts"
import * as TrellisPlugin from "../plugin/index.ts"

type Namespace = Readonly<Record<string, unknown>>

const packages: Readonly<Record<string, Namespace>> = {
  "effect": Effect,
  "effect/http": EffectHttp,
  "effect/http-api": EffectHttpApi,
  "effect/reactivity": EffectReactivity,
  "effect/rpc": EffectRpc,
  "effect/socket": EffectSocket,
  "effect/sql": EffectSql,
  "@effect/sql-pg": SqlPg,
  "trellis/plugin": TrellisPlugin,
  "trellis/contract": TrellisContract,
  "trellis/client": TrellisClient
}

const isNamespace = (u: unknown): u is Namespace => typeof u === "object" && u !== null

/** The bundled module for a bare specifier: a package index, or one of its modules by name. */
const lookup = (specifier: string): Namespace | undefined => {
  const direct = packages[specifier]
  if (direct !== undefined) return direct
  const slash = specifier.lastIndexOf("/")
  if (slash <= 0) return undefined
  const parent = packages[specifier.slice(0, slash)]
  const module = parent?.[specifier.slice(slash + 1)]
  return isNamespace(module) ? module : undefined
}

const SCHEME = "trellis-host:"
const REGISTRY = Symbol.for("trellis/host-modules")

/** ES module source re-exporting the bundled module's names (string export names allow any). */
const source = (specifier: string, module: Namespace): string => {
  const names = Object.keys(module)
  const lines = [`const m = globalThis[Symbol.for("trellis/host-modules")](${JSON.stringify(specifier)});`]
  names.forEach((name, i) => lines.push(`const x${i} = m[${JSON.stringify(name)}];`))
  lines.push(`export { ${names.map((name, i) => `x${i} as ${JSON.stringify(name)}`).join(", ")} };`)
  return lines.join("\n")
}

/** Registers the hook; plugins imported afterwards get the bundled modules. */
export const install = (): void => {
  Object.defineProperty(globalThis, REGISTRY, { value: lookup, configurable: false, enumerable: false })
  registerHooks({
    resolve(specifier, context, next) {
      return lookup(specifier) === undefined ? next(specifier, context) : { url: SCHEME + specifier, shortCircuit: true }
    },
    load(url, context, next) {
      if (!url.startsWith(SCHEME)) return next(url, context)
      const specifier = url.slice(SCHEME.length)
      const module = lookup(specifier)
      if (module === undefined) throw new Error(`No bundled module ${specifier}`)
      return { format: "module", source: source(specifier, module), shortCircuit: true }
    }
  })
}
