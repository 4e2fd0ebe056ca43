/**
 * The plugin contract: what a domain contributes to a Trellis server.
 *
 * A plugin is a plain value. Its contract parts (HttpApi groups, the RpcGroup derived from them
 * with `RpcFromApi`, problem classes) are client-safe and live in the plugin's `Api.ts` /
 * `Domain.ts` / `Errors.ts`; its `layer` implements the group handlers (`HttpApiBuilder.group`),
 * which serve the derived RPCs too (a hand-made RpcGroup brings its own handlers), and outputs the
 * services it offers to other plugins. What it needs is the layer's requirement type: platform
 * services (`SqlClient`, `TrellisConfig`, `EventLog`, ...) and services other plugins offer
 * through their tag modules; a plugin whose layer uses another plugin's service names it in
 * `requires`, and the host composes it after that plugin.
 *
 * The host refuses to start on a duplicate plugin id, group identifier, RPC tag or
 * method+path, naming both owners: Effect finds handlers by global keys, so two plugins with
 * the same group name would otherwise collide silently. It also refuses a route that declares
 * no access requirement (see `PluginHost.ts`), and derives `scopes` and `problems` from the
 * routes' annotations (the hand lists below only add).
 */
import { Predicate } from "effect"
import type { Layer } from "effect"
import type { Migration } from "../database/Migrations.ts"
import type * as Setting from "../config/Setting.ts"
import type * as ServerParam from "../settings/ServerParam.ts"
import type { HttpApiGroup } from "effect/http-api"
import type { Rpc } from "effect/rpc"
import type { ProblemSpecHolder } from "../problem/Problem.ts"
import type * as WebRoute from "../web/WebRoute.ts"

/** One schema migration of a plugin (see `src/database/Migrations.ts`). */
export type { Migration } from "../database/Migrations.ts"

/** An RpcGroup with its request types erased, as the host handles it. */
export interface AnyRpcGroup {
  readonly requests: ReadonlyMap<string, Rpc.Any>
}

export interface Plugin<ROut = never, E = never, RIn = never> {
  /** Lowercase identifier; also the name of the plugin's PostgreSQL schema. */
  readonly id: string
  /** The plugin's version (semver). */
  readonly version: string
  readonly description: string
  /** The HttpApi groups the plugin serves (its HTTP contract). */
  readonly groups: ReadonlyArray<HttpApiGroup.Constraint>
  /** The plugin's RPC contract, served at `/rpc` (usually `RpcFromApi.make(id, groups)`). */
  readonly rpc?: AnyRpcGroup | undefined
  /** Loaded statically (imported), so a single-file binary needs no files on disk. */
  readonly migrations: ReadonlyArray<Migration>
  /**
   * Scopes beyond those the plugin's routes require of service keys (`Requires`), which the host
   * derives. A service key may only be created with declared scopes.
   */
  readonly scopes?: ReadonlyArray<string> | undefined
  /**
   * Ids of the plugins this one needs (whose services its layer uses): the host refuses to start
   * when one is not loaded, and composes every plugin after those it requires.
   */
  readonly requires?: ReadonlyArray<string> | undefined
  /**
   * Problem classes beyond those the plugin's endpoints and RPCs declare as errors (which the
   * host derives), for `schema/problems.json`.
   */
  readonly problems?: ReadonlyArray<ProblemSpecHolder> | undefined
  /**
   * Routes outside the HttpApi: HTML pages, static assets, downloads, webhooks (`WebRoute`).
   * Checked for collisions with every other route and mounted by the host.
   */
  readonly web?: { readonly routes: ReadonlyArray<WebRoute.Any> } | undefined
  /**
   * The plugin's configuration variables, declared with `Setting.Service` (name, default,
   * Schema check, description, secret). The host reads and checks them before it listens (a
   * bad value stops the start naming the variable), provides the typed service to the layer,
   * and offers them as `trellis serve` flags (first-party plugins) and in the README check.
   */
  readonly config?: Setting.Declaration | undefined
  /**
   * The organization-level runtime parameters the plugin reads through `ServerParams` (seed
   * 002's server params: run defaults, safety flags), edited at `/api/settings/server-params`.
   */
  readonly params?: ReadonlyArray<ServerParam.Declaration> | undefined
  /** Implements the groups and RPCs; outputs the services the plugin offers others. */
  readonly layer: Layer.Layer<ROut, E, RIn>
}

/** A plugin with its layer types erased, as the host composes it. */
export interface Any extends Omit<Plugin, "layer"> {
  readonly layer: Layer.Layer<never, unknown, unknown>
}

/** Declares a plugin. An identity function that keeps the layer's types for the author's tests. */
export const make = <ROut, E, RIn>(plugin: Plugin<ROut, E, RIn>): Plugin<ROut, E, RIn> => plugin

/** A module that a `TRELLIS_PLUGINS` entry names: its default export (or `plugin` export) is a plugin. */
export const isPlugin = (u: unknown): u is Any =>
  Predicate.hasProperty(u, "id") && Predicate.isString(u.id) &&
  Predicate.hasProperty(u, "version") && Predicate.isString(u.version) &&
  Predicate.hasProperty(u, "groups") && Array.isArray(u.groups) &&
  Predicate.hasProperty(u, "migrations") && Array.isArray(u.migrations) &&
  (!Predicate.hasProperty(u, "requires") || u.requires === undefined ||
    (Array.isArray(u.requires) && u.requires.every(Predicate.isString))) &&
  (!Predicate.hasProperty(u, "config") || u.config === undefined ||
    (Predicate.hasProperty(u.config, "variables") && Array.isArray(u.config.variables) && Predicate.hasProperty(u.config, "load"))) &&
  Predicate.hasProperty(u, "layer") && Predicate.isObject(u.layer)
