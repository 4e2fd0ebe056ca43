/**
 * `trellis/client`: the typed client of a Trellis server with the first-party API. The
 * generic part (`make`, `makeRpc`, the platform's `PlatformApi`) is `src/client/Client.ts`;
 * the first-party groups come from `plugins/contract.ts`. Its import graph holds only contract
 * modules (no server code), so browser and Node apps can use it.
 *
 * ```ts
 * const program = Effect.gen(function*() {
 *   const trellis = yield* Client.make(Client.FirstPartyApi, { baseUrl: "http://127.0.0.1:8080", token })
 *   const { plugins } = yield* trellis.plugins.list()
 * }).pipe(Effect.provide(FetchHttpClient.layer))
 * ```
 */
import { PlatformApi } from "../src/client/Client.ts"
import { firstPartyGroups } from "./contract.ts"

export * from "../src/client/Client.ts"
export { PromptsRpcs, RunsRpcs, TicketsRpcs } from "./contract.ts"

/** The first-party API: the platform's endpoints plus every first-party plugin's groups. */
export class FirstPartyApi extends PlatformApi.add(...firstPartyGroups) {}
