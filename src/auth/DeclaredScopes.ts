/**
 * The scopes the loaded plugins declare (`Plugin.scopes`), as one set. Identity checks service
 * key scopes against it; it is a narrow service so that identity needs nothing of the host's
 * plugin registry (the server provides it from the composition).
 */
import { Context, Layer } from "effect"

export class DeclaredScopes extends Context.Service<DeclaredScopes, {
  readonly scopes: ReadonlySet<string>
}>()("trellis/auth/DeclaredScopes") {
  static readonly layer = (scopes: Iterable<string>) => Layer.succeed(DeclaredScopes, { scopes: new Set(scopes) })
}
