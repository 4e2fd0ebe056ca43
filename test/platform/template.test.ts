/** `Template` (trellis/contract): PromptOps's `{{name}}` syntax, flat for prompts, with paths for runs. */
import { assert, describe, it } from "@effect/vitest"
import { Template } from "trellis/contract"

describe("Template", () => {
  it("renders known names as PromptOps does and leaves unknown ones untouched", () => {
    assert.strictEqual(Template.render("Hi {{ name }}, {{n}} {{missing}}", { name: "Ada", n: 3 }), "Hi Ada, 3 {{missing}}")
    assert.deepStrictEqual(Template.variablesOf("{{a}} {{b.c}} {{a}}"), ["a", "b.c"])
    assert.deepStrictEqual(Template.missingVariables("{{a}} {{b}}", { a: 1 }), ["b"])
  })

  it("reads dotted names as whole names only in render, and as paths in renderPaths", () => {
    const variables = { steps: { fetch: { body: { ok: true } } }, "a.b": "whole" }
    assert.strictEqual(Template.render("{{steps.fetch.body}}", variables), "{{steps.fetch.body}}")
    assert.strictEqual(Template.renderPaths("{{steps.fetch.body}}", variables), "{\"ok\":true}")
    assert.strictEqual(Template.renderPaths("{{a.b}}", variables), "whole")
    assert.strictEqual(Template.renderPaths("{{steps.nope}}", variables), "{{steps.nope}}")
  })
})
