/** Moved to `src/runtime/Lifecycle.ts` (lower modules use it); kept so older imports resolve. */
export { Lifecycle } from "../runtime/Lifecycle.ts"
