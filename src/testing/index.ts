/** The test kit for plugin authors: `import * as TestKit from "trellis/testing"`. */
export * from "./TestKit.ts"
