/**
 * Process entry point: `node src/main.ts <command>` (Node 24) or `deno run -A src/main.ts`.
 * `NodeRuntime.runMain` turns SIGTERM/SIGINT into an orderly shutdown of the server layer; a
 * shutdown that completed in order exits 0 (Effect's default would be 130 for "interrupted"),
 * so supervisors see a clean stop.
 *
 * The entry point is the one module of `src/` that imports `plugins/`: it hands the first-party
 * list to the CLI, so the platform itself knows no plugin by name.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit, Runtime } from "effect"
import { firstParty } from "../plugins/index.ts"
import * as Cli from "./cli/Cli.ts"
import * as Sea from "./sea/Sea.ts"

const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

Effect.andThen(Sea.setup, Cli.run).pipe(
  Effect.provideService(Cli.FirstPartyPlugins, firstParty),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ teardown })
)
