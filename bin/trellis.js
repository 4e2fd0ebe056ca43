#!/usr/bin/env node
// The `trellis` command (package.json "bin"). Needs Node 24+, which runs the TypeScript
// sources directly (type stripping). Node refuses to strip types under node_modules, so this
// entry point serves a checkout (`npm link`, `npx trellis` inside the repository); the npm
// package (`npm run build:package`) gets a copy that imports the compiled ../src/main.js.
// It runs the command in this same process, so a signal to it reaches the server directly;
// through `npx` (npm's `sh -c` in between) the server also stops once npm is gone (src/cli/Cli.ts).
const [major] = process.versions.node.split(".").map(Number)
if (major < 24) {
  process.stderr.write(`trellis needs Node 24 or newer (this is ${process.version}). Use \`npm start\` or \`npx trellis\` inside the repository, which run the project's own Node 24.\n`)
  process.exit(1)
}
await import("../src/main.ts")
