/**
 * The identity services as one platform layer: built before any plugin (the authentication
 * middleware needs `Credentials`), and visible to every plugin (`Users`, `ApiKeys`, ...).
 */
import { Layer } from "effect"
import { ApiKeys } from "./ApiKeys.ts"
import { CredentialCache } from "./CredentialCache.ts"
import { Directory } from "./Directory.ts"
import * as CredentialsLive from "./CredentialsLive.ts"
import { LoginGuard } from "./LoginGuard.ts"
import * as Mailer from "./Mailer.ts"
import { Passwords } from "./Passwords.ts"
import { Sessions } from "./Sessions.ts"
import { Users } from "./Users.ts"
import { Verifications } from "./Verifications.ts"

const stores = Layer.mergeAll(ApiKeys.layer, Sessions.layer, Users.layer, Passwords.layer, LoginGuard.layer).pipe(
  Layer.provideMerge(CredentialCache.layer)
)

export const layer = Layer.mergeAll(CredentialsLive.layer, Verifications.layer, Directory.layer).pipe(
  Layer.provideMerge(stores),
  Layer.provideMerge(Mailer.layer)
)
