/**
 * The automations plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them). Every workspace route is probed with A's workspace (404 `workspace_not_found`) and
 * with B's own default workspace and A's automation id (404 `automation_not_found`). A's
 * automation is written straight into the table: the matrix loads no plugin that registers a
 * workflow or agent step type, so the API would refuse its target.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { asA, registerA, view, World } from "../../../test/identity/crossorgMatrix.ts"
import type { Entry, PluginMatrix } from "../../../test/identity/crossorgMatrix.ts"

const aAutomation = Effect.gen(function*() {
  const world = yield* World
  const sql = yield* SqlClient.SqlClient
  const workspaces = yield* asA<{ data: ReadonlyArray<{ id: string; is_default: boolean }> }>("GET", "/api/workspaces")
  const workspace = workspaces.data.find((w) => w.is_default) ?? workspaces.data[0]
  const id = `aut_${world.unique("automation").replace(/[^a-z0-9]/gi, "")}`
  const principal = {
    id: world.a.userId,
    kind: "user",
    organizationId: world.a.orgId,
    role: "owner",
    scopes: ["*"],
    userId: world.a.userId,
    credentialId: null,
    projectIds: null,
    agent: false
  }
  yield* sql`INSERT INTO automations.automations
      (id, organization_id, workspace_id, workspace_default, name, description, enabled, trigger_type, trigger, target, principal, created_by)
    VALUES (${id}, ${world.a.orgId}, ${workspace.id}, ${workspace.is_default}, ${world.unique("name")}, ${world.unique("description")}, true,
      'cron', ${JSON.stringify({ type: "cron", schedule: "0 * * * *" })}::jsonb,
      ${JSON.stringify({ type: "workflow", id: world.unique("workflow"), inputs: { note: world.unique("input") } })}::jsonb,
      ${JSON.stringify(principal)}::jsonb, ${world.a.userId})`
  yield* sql`INSERT INTO automations.firings (id, automation_id, organization_id, trigger, dedupe_key, run_id)
    VALUES (${`fir_${id}`}, ${id}, ${world.a.orgId}, 'cron', ${`cron:${id}`}, ${world.unique("run")})`
  yield* registerA(id)
  return { id, workspaceId: workspace.id }
})

const bWorkspace = (orgId: string) => orgId === "org_default" ? "default" : `default_${orgId}`

const validBody = {
  name: "B's automation",
  trigger: { type: "cron", schedule: "0 * * * *" },
  target: { type: "workflow", id: "wf_b" }
}

/** A route under a workspace: A's workspace, then B's own workspace with A's automation. */
const automationRoute = (body?: unknown, withAutomation = true): Entry => ({
  kind: "byId",
  body,
  setup: (world) =>
    Effect.gen(function*() {
      const a = yield* aAutomation
      const base = `/api/v1/workspace/${a.workspaceId}/automations`
      return {
        probes: withAutomation
          ? [
            { params: { workspace_id: a.workspaceId, automation_id: a.id }, code: "workspace_not_found" },
            { params: { workspace_id: bWorkspace(world.b.orgId), automation_id: a.id }, code: "automation_not_found" }
          ]
          : [{ params: { workspace_id: a.workspaceId }, code: "workspace_not_found" }],
        view: view(base, `${base}/${a.id}`, `${base}/${a.id}/firings`)
      }
    })
})

export const automationsMatrix: PluginMatrix = {
  plugin: "automations",
  routes: {
    "GET /api/v1/workspace/{workspace_id}/automations": automationRoute(undefined, false),
    "POST /api/v1/workspace/{workspace_id}/automations": automationRoute(validBody, false),
    "GET /api/v1/workspace/{workspace_id}/automations/{automation_id}": automationRoute(),
    "PUT /api/v1/workspace/{workspace_id}/automations/{automation_id}": automationRoute(validBody),
    "PATCH /api/v1/workspace/{workspace_id}/automations/{automation_id}": automationRoute({ enabled: false }),
    "DELETE /api/v1/workspace/{workspace_id}/automations/{automation_id}": automationRoute(),
    "GET /api/v1/workspace/{workspace_id}/automations/{automation_id}/firings": automationRoute(),
    "POST /api/v1/webhooks/incoming": {
      kind: "public",
      reason: "incoming webhooks: no credential; the request proves itself with its automation's HMAC signature, and answers name only the runs it started"
    }
  },
  rpcs: {}
}
