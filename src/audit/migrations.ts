/** The audit plugin's migrations, in id order (imported, so a single-file binary needs no files on disk). */
import type { Migration } from "../plugin/Plugin.ts"
import { migration as createAudit } from "./migrations/0001_create_audit.ts"

export const migrations: ReadonlyArray<Migration> = [createAudit]
