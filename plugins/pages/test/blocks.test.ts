/**
 * `Blocks.ts`, pure: ids kept or assigned, refusals naming the field, and the data warnings of
 * every block type in Surflet's wording (one case per type: a good block has none, a bad one
 * says what to fix).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Blocks from "../Blocks.ts"
import type { StoredBlock } from "../Domain.ts"

const checked = (input: ReadonlyArray<unknown>, options?: Parameters<typeof Blocks.check>[1]) => {
  const result = Blocks.check(input, options)
  if (result._tag !== "Checked") throw new Error(`refused: ${result.field}: ${result.constraint}`)
  return result
}

const refusal = (input: ReadonlyArray<unknown>, options?: Parameters<typeof Blocks.check>[1]) => {
  const result = Blocks.check(input, options)
  if (result._tag !== "Invalid") throw new Error("accepted")
  return result.field
}

/** The warnings of one block with this type and data. */
const warn = (type: string, data: Record<string, unknown>) => Blocks.dataWarnings("b", type, data)

describe("Blocks.check", () => {
  it("keeps given ids, assigns missing ones, copies title/group/tab", () => {
    const result = checked([{ id: "x", type: "text", data: { content: "a" }, group: "g", tab: "t" }, { type: "divider" }])
    assert.strictEqual(result.blocks[0]!.id, "x")
    assert.strictEqual(result.blocks[0]!.group, "g")
    assert.strictEqual(result.blocks[0]!.tab, "t")
    assert.match(result.blocks[1]!.id, /^b_1_[0-9a-f]{8}$/)
    assert.deepStrictEqual(result.blocks[1]!.data, {})
    assert.deepStrictEqual(result.warnings, [])
  })

  it("assigned ids carry the page index and avoid taken ids", () => {
    const taken = new Set(["a", "b"])
    const result = checked([{ type: "divider" }], { taken, startIndex: 2 })
    assert.match(result.blocks[0]!.id, /^b_2_/)
    assert.isTrue(taken.has(result.blocks[0]!.id), "the new id is taken now")
  })

  it("refuses what is not a block, naming the field", () => {
    assert.strictEqual(refusal(["text"]), "blocks[0].type")
    assert.strictEqual(refusal([{ type: "text" }, null]), "blocks[1].type")
    assert.strictEqual(refusal([{ type: 3 }]), "blocks[0].type")
    assert.strictEqual(refusal([{ type: "text", data: [] }]), "blocks[0].data")
    assert.strictEqual(refusal([{ type: "text", id: 5 }]), "blocks[0].id")
    assert.strictEqual(refusal([{ type: "text", title: 5 }]), "blocks[0].title")
    assert.strictEqual(refusal([{ id: "a", type: "text" }, { id: "a", type: "text" }]), "blocks[1].id")
    assert.strictEqual(refusal([{ id: "a", type: "text" }], { taken: new Set(["a"]) }), "blocks[0].id")
    assert.strictEqual(refusal([{ type: "text", data: { content: "x".repeat(Blocks.maxBlockBytes) } }]), "blocks[0]")
    assert.strictEqual(refusal(Array.from({ length: Blocks.maxBlocks + 1 }, () => ({ type: "divider" }))), "blocks")
    assert.strictEqual(refusal([{ type: "divider" }], { existingCount: Blocks.maxBlocks }), "blocks")
  })

  it("checks nested blocks of columns and collapsible, with ids unique across the page", () => {
    const result = checked([
      { id: "cols", type: "columns", data: { columns: [{ weight: 2, blocks: [{ type: "text", data: { content: "l" } }] }, { blocks: [{ id: "r", type: "metric", data: {} }] }] } },
      { type: "collapsible", data: { blocks: [{ type: "divider" }] } }
    ])
    const columns = result.blocks[0]!.data.columns as ReadonlyArray<{ blocks: ReadonlyArray<StoredBlock> }>
    assert.match(columns[0]!.blocks[0]!.id, /^b_0_/)
    assert.strictEqual(columns[1]!.blocks[0]!.id, "r")
    assert.deepStrictEqual(result.warnings, ["Block 'r' (metric): data.items is missing. Expected: { items: [{ label, value }] }"])
    assert.strictEqual(Blocks.findBlock(result.blocks, "r")?.type, "metric")
    assert.include(Blocks.idsOf(result.blocks), "r")
    assert.strictEqual(
      refusal([{ id: "r", type: "text" }, { type: "collapsible", data: { blocks: [{ id: "r", type: "text" }] } }]),
      "blocks[1].data.blocks[0].id"
    )
    assert.strictEqual(refusal([{ type: "columns", data: { columns: [{ blocks: [{}] }] } }]), "blocks[0].data.columns[0].blocks[0].type")
  })
})

describe("Blocks.dataWarnings, one type at a time", () => {
  it("text", () => {
    assert.deepStrictEqual(warn("text", { content: "# hi" }), [])
    assert.deepStrictEqual(warn("text", { text: "hi" }), ["Block 'b' (text): use 'content' not 'text'. Fix: rename data.text → data.content"])
    assert.deepStrictEqual(warn("text", { body: "hi" }), ["Block 'b' (text): use 'content' not 'body'. Fix: rename data.body → data.content"])
    assert.deepStrictEqual(warn("text", {}), ["Block 'b' (text): data.content is missing. Expected: { content: string (markdown) }"])
  })
  it("key_value", () => {
    assert.deepStrictEqual(warn("key_value", { pairs: [{ key: "a", value: 1 }] }), [])
    assert.strictEqual(warn("key_value", {}).length, 1)
    assert.include(warn("key_value", { pairs: [{ key: "a" }] })[0]!, "data.pairs[0] needs key and value")
  })
  it("metric", () => {
    assert.deepStrictEqual(warn("metric", { items: [{ label: "MRR", value: 3, unit: "$", delta: "+2%", trend: "up" }] }), [])
    assert.deepStrictEqual(warn("metric", {}), ["Block 'b' (metric): data.items is missing. Expected: { items: [{ label, value }] }"])
    assert.include(warn("metric", { items: [{ label: "a", value: 1, trend: "sideways" }] })[0]!, "data.items[0].trend")
  })
  it("table", () => {
    assert.deepStrictEqual(warn("table", { columns: ["a", { key: "b", label: "B" }], rows: [[1, 2], { a: 1, b: 2 }] }), [])
    assert.strictEqual(warn("table", {}).length, 2)
    assert.include(warn("table", { columns: [1], rows: [] })[0]!, "data.columns[0]")
  })
  it("chart", () => {
    assert.deepStrictEqual(warn("chart", { chart_type: "line", data: { labels: ["Mon"], datasets: [{ label: "DAU", data: [1] }] } }), [])
    assert.include(warn("chart", { chart_type: "radar", data: { labels: [], datasets: [] } })[0]!, "data.chart_type")
    assert.include(warn("chart", { chart_type: "bar", data: { labels: [], datasets: [{ data: ["x"] }] } })[0]!, "data.data.datasets[0].data")
  })
  it("callout", () => {
    assert.deepStrictEqual(warn("callout", { content: "x", style: "warning" }), [])
    assert.deepStrictEqual(warn("callout", { message: "x" }), ["Block 'b' (callout): use 'content' not 'message'. Fix: rename data.message → data.content"])
    assert.include(warn("callout", { content: "x", style: "loud" })[0]!, "data.style")
  })
  it("code", () => {
    assert.deepStrictEqual(warn("code", { content: "x", language: "ts" }), [])
    assert.include(warn("code", {})[0]!, "data.content is missing")
  })
  it("image", () => {
    assert.deepStrictEqual(warn("image", { src: "https://example.test/a.png", alt: "a" }), [])
    assert.deepStrictEqual(warn("image", { src: "data:image/png;base64,AAAA" }), [])
    assert.include(warn("image", { src: "javascript:alert(1)" })[0]!, "data.src")
    assert.include(warn("image", {})[0]!, "data.src is missing")
  })
  it("stepper", () => {
    assert.deepStrictEqual(warn("stepper", { steps: [{ label: "a", status: "completed" }, { label: "b", status: "active", description: "d" }] }), [])
    assert.include(warn("stepper", { steps: [{ label: "a", status: "done" }] })[0]!, "data.steps[0].status")
  })
  it("columns", () => {
    assert.deepStrictEqual(warn("columns", { columns: [{ weight: 1, blocks: [] }] }), [])
    assert.include(warn("columns", { columns: [{}] })[0]!, "data.columns[0].blocks")
  })
  it("collapsible", () => {
    assert.deepStrictEqual(warn("collapsible", { content: "x", open: true }), [])
    assert.deepStrictEqual(warn("collapsible", { blocks: [] }), [])
    assert.include(warn("collapsible", { content: "x", open: "yes" })[0]!, "data.open")
  })
  it("form", () => {
    assert.deepStrictEqual(warn("form", { fields: [{ name: "n", label: "N", type: "select", options: ["a"], required: true }] }), [])
    assert.include(warn("form", { fields: [{ name: "n", label: "N", type: "color" }] })[0]!, "data.fields[0].type")
    assert.include(warn("form", { fields: [{ label: "N" }] })[0]!, "data.fields[0].name")
  })
  it("file_list and divider", () => {
    assert.deepStrictEqual(warn("file_list", { allow_upload: true }), [])
    assert.strictEqual(warn("file_list", { allow_upload: "yes" }).length, 1)
    assert.deepStrictEqual(warn("divider", {}), [])
  })
  it("unknown types publish with a warning", () => {
    assert.include(warn("sparkle", {})[0]!, "unknown block type 'sparkle'")
  })
})

describe("Blocks.checkParts", () => {
  it("names the field of a bad channel, duplicate action, duplicate step or quorum", () => {
    assert.strictEqual(Blocks.checkParts({ notify: { channels: [{ type: "email" }, { type: "slack" }] } }), undefined)
    assert.strictEqual(Blocks.checkParts({ notify: { channels: [{ type: "sms" }] } })?.field, "notify.channels[0].type")
    assert.strictEqual(Blocks.checkParts({ actions: [{ action_id: "a" }, { action_id: "a" }] })?.field, "actions[1].action_id")
    const step = (step_id: string, quorum?: number) => ({ step_id, assignees: ["a@x.test", "b@x.test"], ...(quorum === undefined ? {} : { quorum }) })
    assert.strictEqual(Blocks.checkParts({ approval_chain: { steps: [step("s", 2)] } }), undefined)
    assert.strictEqual(Blocks.checkParts({ approval_chain: { steps: [step("s"), step("s")] } })?.field, "approval_chain.steps[1].step_id")
    assert.strictEqual(Blocks.checkParts({ approval_chain: { steps: [step("s", 3)] } })?.field, "approval_chain.steps[0].quorum")
    assert.strictEqual(Blocks.checkParts({ approval_chain: { steps: [] } })?.field, "approval_chain.steps")
  })
})
