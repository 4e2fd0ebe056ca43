/**
 * The tickets plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them): every route and RPC of the plugin, and how each stays inside the caller's
 * organization. SessionFS answers a service key naming another organization's project with 403
 * `cross_org_denied`; users get 404.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import {
  asA,
  assertClean,
  call,
  crossOrgDenied,
  ok,
  ownCreateSameName,
  ownList,
  plainId,
  registerA,
  rpc,
  rpcClean,
  rpcOfRoute,
  rpcOwnCreateSameName,
  rpcOwnList,
  view,
  World
} from "../../../test/identity/crossorgMatrix.ts"
import type { Entry, PluginMatrix, WorldShape } from "../../../test/identity/crossorgMatrix.ts"

const aProject = Effect.gen(function*() {
  const world = yield* World
  const remote = `github.com/${world.unique("owner")}/repo`
  const created = yield* asA<{ id: string }>("POST", "/api/v1/projects/", {
    name: world.unique("project"),
    git_remote_normalized: remote,
    context_document: world.unique("context")
  }, 201)
  yield* registerA(created.id)
  return { id: created.id, remote }
})

type TicketState = "open" | "suggested" | "in_progress" | "review" | "blocked" | "issue in_progress"

interface ATicket {
  readonly projectId: string
  readonly id: string
  readonly leaseEpoch: number
}

/** A ticket of A's in the state from which the route's transition is legal for A. */
const aTicket = (state: TicketState) =>
  Effect.gen(function*() {
    const world = yield* World
    const project = yield* aProject
    const base = `/api/v1/projects/${project.id}/tickets`
    const body = state === "suggested"
      ? {
        title: world.unique("ticket"),
        source: "agent",
        description: `${world.unique("description")} long enough for an agent's ticket`,
        acceptance_criteria: [world.unique("criterion")],
        created_by_session_id: world.unique("session")
      }
      : {
        title: world.unique("ticket"),
        description: world.unique("description"),
        kind: state === "issue in_progress" ? "issue" : "task",
        acceptance_criteria: [world.unique("criterion")]
      }
    const created = yield* asA<{ id: string; lease_epoch: number }>("POST", base, body, 201)
    yield* registerA(created.id)
    const path = `${base}/${created.id}`
    yield* asA("POST", `${path}/comments`, { content: world.unique("comment") }, 201)
    let leaseEpoch = created.lease_epoch
    if (state === "in_progress" || state === "review" || state === "blocked" || state === "issue in_progress") {
      const started = yield* asA<{ ticket: { lease_epoch: number }; retrieval_audit_id: string }>("POST", `${path}/start`)
      leaseEpoch = started.ticket.lease_epoch
      yield* registerA(started.retrieval_audit_id)
    }
    if (state === "review") yield* asA("POST", `${path}/complete`, { notes: world.unique("notes"), lease_epoch: leaseEpoch })
    if (state === "blocked") yield* asA("POST", `${path}/block`)
    return { projectId: project.id, id: created.id, leaseEpoch } satisfies ATicket
  })

const ticketPath = (t: ATicket) => `/api/v1/projects/${t.projectId}/tickets/${t.id}`
const ticketView = (t: ATicket) => view(ticketPath(t), `${ticketPath(t)}/comments`, `${ticketPath(t)}/edits`)

/**
 * A ticket route: A's ticket in `state`, called by B under A's project and under B's own
 * project (so the ticket lookup itself is checked, not only the project's).
 */
const ticketRoute = (state: TicketState, body?: (t: ATicket, world: WorldShape) => unknown, query?: string): Entry => ({
  kind: "byId",
  setup: (world) =>
    Effect.gen(function*() {
      const t = yield* aTicket(state)
      const b = body?.(t, world)
      return {
        probes: [
          { params: { project_id: t.projectId, ticket_id: t.id }, body: b, query, service: crossOrgDenied },
          { params: { project_id: world.b.projectId, ticket_id: t.id }, body: b, query }
        ],
        view: ticketView(t)
      }
    })
})

const projectRoute = (body?: unknown): Entry => ({
  kind: "byId",
  body,
  setup: () =>
    Effect.gen(function*() {
      const p = yield* aProject
      yield* asA("POST", `/api/v1/projects/${p.id}/tickets`, { title: (yield* World).unique("ticket") }, 201)
      return {
        probes: [{ params: { project_id: p.id }, service: crossOrgDenied }],
        view: view(`/api/v1/projects/${p.id}`, `/api/v1/projects/${p.id}/tickets`)
      }
    })
})

/** Puts B's ticket settings back (later entries write tickets without a lease epoch). */
const resetB = Effect.gen(function*() {
  const world = yield* World
  const body = { require_lease_epoch_on_ticket_writes: false }
  ok(yield* call("PUT", "/api/v1/tickets/settings", { token: world.b.owner.token, body }), "B resets its settings")
}).pipe(Effect.orDie)

const routes: PluginMatrix["routes"] = {
    "GET /api/v1/projects/": ownList("/api/v1/projects/", Effect.map(aProject, (p) => [p.id]), "the caller organization's projects"),
    "POST /api/v1/projects/": ownCreateSameName({
      reason: "creates in the caller's organization; git remotes are unique per organization",
      seed: aProject,
      body: (p) => ({ name: "orgb project", git_remote_normalized: p.remote }),
      status: 201,
      idOf: plainId,
      aView: (p) => [`/api/v1/projects/${p.id}`],
      aList: "/api/v1/projects/"
    }),
    "GET /api/v1/projects/{project}": {
      kind: "byId",
      reason: "by id and by URL-encoded remote",
      setup: () =>
        Effect.map(aProject, (p) => ({
          probes: [{ params: { project: p.id } }, { params: { project: p.remote } }],
          view: view(`/api/v1/projects/${p.id}`)
        }))
    },
    "GET /api/v1/projects/{owner}/{repo}/*": {
      kind: "byId",
      reason: "left out of the OpenAPI document (a wildcard): the remote written as a path",
      setup: () =>
        Effect.map(aProject, (p) => {
          const [host, owner, repo] = p.remote.split("/")
          return {
            probes: [{ params: { owner: host, repo: owner, "*": repo } }, { params: { owner, repo } }],
            view: view(`/api/v1/projects/${p.id}`)
          }
        })
    },
    "PUT /api/v1/projects/{project}/context": {
      kind: "byId",
      reason: "by id and by URL-encoded remote (users only)",
      body: { context_document: "orgb overwrites" },
      setup: () =>
        Effect.map(aProject, (p) => ({
          probes: [{ params: { project: p.id } }, { params: { project: p.remote } }],
          view: view(`/api/v1/projects/${p.id}`)
        }))
    },
    "PUT /api/v1/projects/{owner}/{repo}/*": {
      kind: "byId",
      reason: "left out of the OpenAPI document (a wildcard): the remote written as a path, then /context",
      body: { context_document: "orgb overwrites" },
      setup: () =>
        Effect.map(aProject, (p) => {
          const [host, owner, repo] = p.remote.split("/")
          return {
            probes: [{ params: { owner: host, repo: owner, "*": `${repo}/context` } }, { params: { owner, repo, "*": "context" } }],
            view: view(`/api/v1/projects/${p.id}`)
          }
        })
    },
    "GET /api/v1/tickets/settings/projects/{project_id}": projectRoute(),
    "PUT /api/v1/tickets/settings/projects/{project_id}": projectRoute({ lease_seconds: 5 }),
    "DELETE /api/v1/projects/{project_id}": projectRoute(),
    "GET /api/v1/projects/{project_id}/tickets": projectRoute(),
    "POST /api/v1/projects/{project_id}/tickets": {
      kind: "byId",
      reason: "A's project; and A's ticket named as a dependency or parent in B's own project",
      body: { title: "orgb intruding ticket" },
      setup: (world) =>
        Effect.gen(function*() {
          const t = yield* aTicket("open")
          return {
            probes: [
              { params: { project_id: t.projectId }, service: crossOrgDenied },
              { params: { project_id: world.b.projectId }, body: { title: "orgb depends", depends_on: [t.id] }, status: 400, code: "invalid_dependency" },
              { params: { project_id: world.b.projectId }, body: { title: "orgb child", parent_ticket_id: t.id }, status: 422, code: "invalid_parent" }
            ],
            view: view(`/api/v1/projects/${t.projectId}/tickets`, ...[ticketPath(t)])
          }
        })
    },
    "GET /api/v1/projects/{project_id}/tickets/{ticket_id}": ticketRoute("open"),
    "PUT /api/v1/projects/{project_id}/tickets/{ticket_id}": ticketRoute("open", () => ({ title: "orgb hijack", priority: "critical" })),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/start": ticketRoute("open"),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/renew": ticketRoute("in_progress", (t) => ({ lease_epoch: t.leaseEpoch })),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/complete": ticketRoute(
      "in_progress",
      (t) => ({ notes: "orgb completes", lease_epoch: t.leaseEpoch })
    ),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/resolve": ticketRoute("review"),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/accept": ticketRoute("review"),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/close": ticketRoute("issue in_progress"),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/approve": ticketRoute("suggested"),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/block": ticketRoute("in_progress"),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/unblock": ticketRoute("blocked"),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/reopen": ticketRoute("review"),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/dismiss": ticketRoute("open"),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/escalate": ticketRoute("open", () => ({ reason: "orgb escalates" })),
    "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/comments": ticketRoute("open", () => ({ content: "orgb comments" })),
    "GET /api/v1/projects/{project_id}/tickets/{ticket_id}/comments": ticketRoute("open"),
    "GET /api/v1/projects/{project_id}/tickets/{ticket_id}/review-state": ticketRoute("open"),
    "GET /api/v1/projects/{project_id}/tickets/{ticket_id}/edits": ticketRoute("open"),
    // Seed 002's projects: the same projects, camelCase.
    "GET /api/projects": ownList("/api/projects?limit=100", Effect.map(aProject, (p) => [p.id]), "the caller organization's projects (seed 002)"),
    "POST /api/projects": ownCreateSameName({
      reason: "creates in the caller's organization; repositories are unique per organization",
      seed: aProject,
      body: (p) => ({ name: "orgb project", repositoryUrl: p.remote }),
      status: 201,
      idOf: plainId,
      aView: (p) => [`/api/projects/${p.id}`],
      aList: "/api/projects?limit=100"
    }),
    "GET /api/projects/{project}": {
      kind: "byId",
      reason: "by id (a service key naming A's id: SessionFS's 403 cross_org_denied) and by remote",
      setup: () =>
        Effect.map(aProject, (p) => ({
          probes: [{ params: { project: p.id }, service: crossOrgDenied }, { params: { project: p.remote } }],
          view: view(`/api/projects/${p.id}`)
        }))
    },
    "PUT /api/projects/{project}": {
      kind: "byId",
      body: { name: "orgb renames", description: "orgb writes", defaultBranch: "orgb" },
      setup: () =>
        Effect.map(aProject, (p) => ({
          probes: [{ params: { project: p.id }, service: crossOrgDenied }, { params: { project: p.remote } }],
          view: view(`/api/projects/${p.id}`, `/api/v1/projects/${p.id}`)
        }))
    },
    "DELETE /api/projects/{project}": {
      kind: "byId",
      setup: () =>
        Effect.map(aProject, (p) => ({
          probes: [{ params: { project: p.id }, service: crossOrgDenied }, { params: { project: p.remote } }],
          view: view(`/api/projects/${p.id}`, `/api/v1/projects/${p.id}`)
        }))
    },
    "GET /api/v1/tickets/settings": {
      kind: "own",
      reason: "the caller organization's settings",
      check: ({ world, callers }) =>
        Effect.gen(function*() {
          yield* asA("PUT", "/api/v1/tickets/settings", { require_lease_epoch_on_ticket_writes: true })
          for (const caller of callers) {
            const reply = yield* call("GET", "/api/v1/tickets/settings", { token: caller.token })
            assert.isFalse(ok<{ require_lease_epoch_on_ticket_writes: boolean }>(reply, `${caller.name}: GET settings`).require_lease_epoch_on_ticket_writes)
            assertClean(world, reply, `${caller.name}: GET settings`)
          }
        }).pipe(Effect.ensuring(Effect.orDie(asA("PUT", "/api/v1/tickets/settings", { require_lease_epoch_on_ticket_writes: false }))))
    },
    "PUT /api/v1/tickets/settings": {
      kind: "own",
      reason: "sets the caller organization's settings",
      check: ({ callers }) =>
        Effect.gen(function*() {
          for (const caller of callers) {
            const body = { require_lease_epoch_on_ticket_writes: true }
            ok(yield* call("PUT", "/api/v1/tickets/settings", { token: caller.token, body }), `${caller.name}: PUT settings`)
            const mine = yield* asA<{ require_lease_epoch_on_ticket_writes: boolean }>("GET", "/api/v1/tickets/settings")
            assert.isFalse(mine.require_lease_epoch_on_ticket_writes, "B's setting changed A's")
          }
        }).pipe(Effect.ensuring(resetB))
    }
  }

export const ticketsMatrix: PluginMatrix = {
  plugin: "tickets",
  routes,
  // Derived from the routes (`RpcFromApi`) and served by their handlers: the route's probes, as RPC requests.
  rpcs: {
    "tickets.ListProjects": rpcOwnList(null, Effect.map(aProject, (p) => [p.id])),
    "tickets.CreateProject": rpcOwnCreateSameName({
      seed: aProject,
      payload: (p) => ({ payload: { name: "orgb project", git_remote_normalized: p.remote } }),
      aView: (p) => [`/api/v1/projects/${p.id}`]
    }),
    "tickets.GetProject": rpcOfRoute(routes["GET /api/v1/projects/{project}"]),
    "tickets.GetProjectByRemote": rpcOfRoute(routes["GET /api/v1/projects/{owner}/{repo}/*"]),
    "tickets.UpdateContext": rpcOfRoute(routes["PUT /api/v1/projects/{project}/context"]),
    "tickets.UpdateContextByRemote": rpcOfRoute(routes["PUT /api/v1/projects/{owner}/{repo}/*"]),
    "tickets.DeleteProject": rpcOfRoute(routes["DELETE /api/v1/projects/{project_id}"]),
    "tickets.List": rpcOfRoute(routes["GET /api/v1/projects/{project_id}/tickets"]),
    "tickets.Create": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets"]),
    "tickets.Get": rpcOfRoute(routes["GET /api/v1/projects/{project_id}/tickets/{ticket_id}"]),
    "tickets.Update": rpcOfRoute(routes["PUT /api/v1/projects/{project_id}/tickets/{ticket_id}"]),
    "tickets.Start": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/start"]),
    "tickets.Renew": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/renew"]),
    "tickets.Complete": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/complete"]),
    "tickets.Resolve": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/resolve"]),
    "tickets.Accept": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/accept"]),
    "tickets.Close": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/close"]),
    "tickets.Approve": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/approve"]),
    "tickets.Block": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/block"]),
    "tickets.Unblock": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/unblock"]),
    "tickets.Reopen": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/reopen"]),
    "tickets.Dismiss": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/dismiss"]),
    "tickets.Escalate": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/escalate"]),
    "tickets.AddComment": rpcOfRoute(routes["POST /api/v1/projects/{project_id}/tickets/{ticket_id}/comments"]),
    "tickets.ListComments": rpcOfRoute(routes["GET /api/v1/projects/{project_id}/tickets/{ticket_id}/comments"]),
    "tickets.ReviewState": rpcOfRoute(routes["GET /api/v1/projects/{project_id}/tickets/{ticket_id}/review-state"]),
    "tickets.Edits": rpcOfRoute(routes["GET /api/v1/projects/{project_id}/tickets/{ticket_id}/edits"]),
    "tickets.GetProjectSettings": rpcOfRoute(routes["GET /api/v1/tickets/settings/projects/{project_id}"]),
    "tickets.SetProjectSettings": rpcOfRoute(routes["PUT /api/v1/tickets/settings/projects/{project_id}"]),
    "tickets.GetSettings": {
      kind: "own",
      reason: "the caller organization's settings",
      check: ({ world, tag, callers }) =>
        Effect.gen(function*() {
          yield* asA("PUT", "/api/v1/tickets/settings", { require_lease_epoch_on_ticket_writes: true })
          for (const caller of callers) {
            const value = rpcClean(world, yield* rpc(caller.token, tag, null), `${caller.name}: ${tag}`)
            assert.isFalse((value as { require_lease_epoch_on_ticket_writes: boolean }).require_lease_epoch_on_ticket_writes)
          }
        }).pipe(Effect.ensuring(Effect.orDie(asA("PUT", "/api/v1/tickets/settings", { require_lease_epoch_on_ticket_writes: false }))))
    },
    "tickets.SetSettings": {
      kind: "own",
      reason: "sets the caller organization's settings",
      check: ({ world, tag, callers }) =>
        Effect.gen(function*() {
          for (const caller of callers) {
            rpcClean(world, yield* rpc(caller.token, tag, { payload: { require_lease_epoch_on_ticket_writes: true } }), `${caller.name}: ${tag}`)
            const mine = yield* asA<{ require_lease_epoch_on_ticket_writes: boolean }>("GET", "/api/v1/tickets/settings")
            assert.isFalse(mine.require_lease_epoch_on_ticket_writes, "B's setting changed A's")
          }
        }).pipe(Effect.ensuring(resetB))
    }
  }
}
