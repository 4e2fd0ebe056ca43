/**
 * Creates one fresh embedded database per test run and hands its directory to the test kit,
 * which copies it for each server it boots: creating a PGlite database takes seconds, copying
 * one takes milliseconds.
 */
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Embedded from "../src/database/Embedded.ts"

export default async function setup() {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-template-"))
  await Effect.runPromise(Effect.scoped(Effect.asVoid(Embedded.openPGlite(dir))))
  process.env.TRELLIS_TEST_PGLITE_TEMPLATE = dir
  return () => NodeFs.rmSync(dir, { recursive: true, force: true })
}
