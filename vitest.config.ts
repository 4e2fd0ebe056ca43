import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "plugins/**/test/**/*.test.ts", "examples/**/test/**/*.test.ts"],
    testTimeout: 60000,
    hookTimeout: 60000,
    globalSetup: ["test/globalSetup.ts"],
    // Test files share worker processes: each file's server is its own (a fresh database copied
    // from the run's template, a fresh port), so what a file must not leak is process state, such
    // as environment variables (give a server its settings with `ConfigProvider`, as
    // plugins/prompts/test/openai.test.ts does). Importing Effect, the platform and PGlite's WASM
    // once per worker instead of once per file took a sample of 14 files from 227 s to 140 s.
    isolate: false
  }
})
