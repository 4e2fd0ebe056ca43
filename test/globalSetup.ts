/**
 * The run's template databases (see `src/testing/TestKit.ts`): one empty embedded database made
 * here, migrated once per set of plugins by the first server that needs it, then copied for
 * every server: creating and migrating a PGlite database takes seconds, copying one milliseconds.
 */
export { globalSetup as default } from "../src/testing/TestKit.ts"
