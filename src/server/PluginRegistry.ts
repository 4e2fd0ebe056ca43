/**
 * What the running server is made of: the composed plugins and their migration plan. The
 * readiness probe and `GET /api/plugins` read it; it is built once at start.
 */
import { Context } from "effect"
import type { PluginMigrations } from "../database/Migrations.ts"
import type { PluginInfo } from "../http/SystemApi.ts"
import type { Composition } from "../plugin/PluginHost.ts"

export class PluginRegistry extends Context.Service<PluginRegistry, {
  readonly composition: Composition
  readonly plugins: ReadonlyArray<PluginInfo>
  readonly migrationPlan: ReadonlyArray<PluginMigrations>
}>()("trellis/server/PluginRegistry") {}
