/** Handlers of `/api/settings/server-params` (`SettingsApi.ts`): thin, over `ServerParams`; every change is audited. */
import { Effect } from "effect"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import { AuditLog } from "../audit/AuditLog.ts"
import { CurrentPrincipal } from "../auth/Principal.ts"
import { InvalidServerParams, ServerParamsGroup } from "./SettingsApi.ts"
import { ServerParams } from "./ServerParams.ts"

export class SettingsApi extends HttpApi.make("settings").add(ServerParamsGroup) {}

export const SettingsHttp = HttpApiBuilder.group(SettingsApi, "serverParams", Effect.fn(function*(handlers) {
  const params = yield* ServerParams
  const audit = yield* AuditLog
  const secrets = new Set(params.declarations.filter((d) => d.type === "secret").map((d) => d.key))
  return handlers
    .handle("get", () => Effect.flatMap(CurrentPrincipal, (principal) => params.view(principal.organizationId)))
    .handle("update", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const result = yield* params.update(principal.organizationId, payload)
        if ("issues" in result) {
          return yield* new InvalidServerParams({
            detail: result.issues.map((i) => `${i.key} ${i.message}`).join("; ") + ".",
            params: result.issues
          })
        }
        if (result.changed.length > 0) {
          // Secret values never reach the audit log: only that they changed.
          yield* audit.record("settings.server_params.update", { type: "organization", id: principal.organizationId }, {
            changed: Object.fromEntries(result.changed.map((key) => [key, secrets.has(key) ? "(secret)" : payload[key] ?? null]))
          })
        }
        return yield* params.view(principal.organizationId)
      }))
}))
