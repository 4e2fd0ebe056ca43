/**
 * A `ticket` step with `wait` across restarts: nothing polls; the wait is ended by the follower
 * of the tickets change stream, which keeps its position in the database. The first process
 * starts the run (it waits on its ticket) and stops; the second serves tickets but not
 * workflows (no follower runs) and completes and resolves the ticket; the third process's
 * follower resumes after its stored position, ends the wait and the run succeeds with the
 * ticket's notes. The change stream holds the ticket's changes in order.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { EventLog } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../../prompts/Plugin.ts"
import { testRunsPlugin } from "../../runs/test/support.ts"
import { as, statusOf, tester } from "../../runs/test/support.ts"
import { Runs } from "../../runs/RunsService.ts"
import { TicketsPlugin } from "../../tickets/Plugin.ts"
import { Projects } from "../../tickets/Projects.ts"
import { TicketChanges } from "../../tickets/Streams.ts"
import { Tickets } from "../../tickets/TicketsService.ts"
import { makeWorkflowsPlugin } from "../Plugin.ts"

const T = 180_000

interface Services {
  readonly runs: Runs["Service"]
  readonly tickets: Tickets["Service"]
  readonly projects: Projects["Service"]
  readonly events: EventLog["Service"]
}

const probe = (services: Deferred.Deferred<Services>) =>
  TestKit.probe({ id: "ticket_wait_probe", requires: ["runs", "tickets"] }, Effect.gen(function*() {
    yield* Deferred.succeed(services, { runs: yield* Runs, tickets: yield* Tickets, projects: yield* Projects, events: yield* EventLog })
  }))

/** One database and a boot of a "process" on it, with or without the workflows plugin. */
const restartable = Effect.gen(function*() {
  const server = yield* TestKit.restartable({ plugins: [PromptsPlugin, TicketsPlugin, testRunsPlugin(), makeWorkflowsPlugin()] })
  const boot = (withWorkflows: boolean) =>
    Effect.gen(function*() {
      const services = Deferred.makeUnsafe<Services>()
      yield* server.boot([
        PromptsPlugin,
        TicketsPlugin,
        testRunsPlugin(),
        ...(withWorkflows ? [makeWorkflowsPlugin()] : []),
        probe(services)
      ])
      return yield* Deferred.await(services)
    })
  return { boot }
})

describe("workflows: a ticket step's wait across restarts", () => {
  it.live("the follower resumes after its stored position and ends the wait", () =>
    Effect.gen(function*() {
      const server = yield* restartable
      const started = yield* Effect.scoped(Effect.gen(function*() {
        const { projects, runs } = yield* server.boot(true)
        const project = yield* projects.create({
          name: `restart-${Date.now().toString(36)}`,
          git_remote_normalized: `github.com/acme/restart-${Date.now().toString(36)}`
        }).pipe(as(tester))
        const run = yield* runs.run({
          steps: [
            { name: "file", type: "ticket", project: project.id, title: "Fix it", wait: true },
            { name: "report", type: "render", template: "done: {{input.output}}" }
          ]
        }).pipe(as(tester))
        const waiting = yield* statusOf(runs, run.id, ["waiting", "succeeded", "failed", "cancelled"])
        assert.strictEqual(waiting.run.status, "waiting")
        return { runId: run.id, projectId: project.id }
      }))

      // Tickets without workflows: the ticket ends while no follower runs.
      const ticketId = yield* Effect.scoped(Effect.gen(function*() {
        const { tickets, runs } = yield* server.boot(false)
        const [ticket] = yield* tickets.list(started.projectId, {}).pipe(as(tester))
        assert.isDefined(ticket)
        const claimed = yield* tickets.start(started.projectId, ticket.id, { force: false, tool: "test", claimKey: undefined }).pipe(as(tester))
        yield* tickets.complete(started.projectId, ticket.id, { notes: "patched it", lease_epoch: claimed.ticket.lease_epoch }).pipe(as(tester))
        yield* tickets.resolve(started.projectId, ticket.id, claimed.ticket.lease_epoch).pipe(as(tester))
        assert.strictEqual((yield* runs.get(started.runId).pipe(as(tester))).run.status, "waiting", "nothing ended the wait")
        return ticket.id
      }))

      yield* Effect.scoped(Effect.gen(function*() {
        const { events, runs } = yield* server.boot(true)
        const detail = yield* statusOf(runs, started.runId, ["succeeded", "failed", "cancelled"])
        assert.strictEqual(detail.run.status, "succeeded", JSON.stringify(detail.run.error))
        assert.strictEqual(detail.run.output, "done: patched it")
        const stored = yield* events.read(TicketChanges.at().name, 0, 100)
        assert.deepStrictEqual(
          stored.filter((e) => (e.data as { ticket_id: string }).ticket_id === ticketId).map((e) => [e.event, (e.data as { status: string }).status]),
          [["ticket.create", "open"], ["ticket.start", "in_progress"], ["ticket.complete", "review"], ["ticket.resolve", "done"]]
        )
      }))
    }), T)
})
