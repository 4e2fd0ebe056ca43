/**
 * The A2UI and AG-UI translations (pure): seed 003's two examples give exactly the documented
 * blocks, every row of the mapping tables (plugin README, "A2UI and AG-UI"), and junk of every
 * kind (a seeded generator, so a failure replays) gives warnings, never a throw. The AG-UI
 * fixtures are checked against `@ag-ui/core`'s own zod schemas, so they are real AG-UI.
 */
import { EventSchemas } from "@ag-ui/core/schemas"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { PagesPlugin } from "../Plugin.ts"
import * as A2ui from "../A2ui.ts"
import * as AgUi from "../AgUi.ts"

/** AG-UI events, each checked against `@ag-ui/core`'s schema first. */
const agui = (...events: ReadonlyArray<Record<string, unknown>>) => {
  events.forEach((event, i) => {
    const parsed = EventSchemas.safeParse(event)
    assert.isTrue(parsed.success, `fixture events[${i}] (${String(event.type)}) is not AG-UI: ${parsed.error?.message ?? ""}`)
  })
  return events
}

const components = (...list: ReadonlyArray<Record<string, unknown>>) => A2ui.translate(list)

/** Seed 003's A2UI example (`POST /v1/publish/a2ui`): a heading, then a row of two weighted columns. */
const seedExample = {
  version: "v0.9",
  title: "User Profile",
  updateComponents: {
    surfaceId: "demo",
    components: [
      { id: "name", component: "Text", text: "Alice Wang", variant: "h1" },
      { id: "row", component: "Row", children: ["col1", "col2"] },
      { id: "col1", component: "Column", children: ["info"], weight: 2 },
      { id: "col2", component: "Column", children: ["avatar"], weight: 1 },
      { id: "info", component: "Text", text: "Engineer @ Acme" },
      { id: "avatar", component: "Image", src: "https://example.com/alice.png" }
    ]
  }
}

describe("A2UI", () => {
  it("seed 003's example: an h1, then the Row as two weighted columns", () => {
    const result = A2ui.translate(seedExample)
    assert.strictEqual(result.title, "User Profile")
    assert.deepStrictEqual(result.blocks, [
      { type: "text", data: { content: "# Alice Wang" } },
      {
        type: "columns",
        data: {
          columns: [
            { weight: 2, blocks: [{ type: "text", data: { content: "Engineer @ Acme" } }] },
            { weight: 1, blocks: [{ type: "image", data: { src: "https://example.com/alice.png" } }] }
          ]
        }
      }
    ])
    assert.deepStrictEqual(result.warnings, [])
    assert.deepStrictEqual(result.actions, [])
    assert.strictEqual(result.surfaceId, "demo")
  })

  it("a bare array: the title is the first h1, else Untitled; the body's title wins", () => {
    assert.strictEqual(components({ id: "a", component: "Text", text: "Intro" }, { id: "b", component: "Text", text: "Report", variant: "h1" }).title, "Report")
    assert.strictEqual(components({ id: "a", component: "Text", text: "Intro" }).title, "Untitled")
    assert.strictEqual(A2ui.translate({ title: "Given", components: [{ id: "a", component: "Text", text: "T", variant: "h1" }] }).title, "Given")
  })

  it("Text: h1..h5 are markdown headings, body and caption plain text", () => {
    const result = components(
      { id: "root", component: "Column", children: ["h1", "h2", "h3", "h4", "h5", "body", "caption", "plain"] },
      { id: "h1", component: "Text", text: "One", variant: "h1" },
      { id: "h2", component: "Text", text: "Two", variant: "h2" },
      { id: "h3", component: "Text", text: "Three", variant: "h3" },
      { id: "h4", component: "Text", text: "Four", variant: "h4" },
      { id: "h5", component: "Text", text: "Five", variant: "h5" },
      { id: "body", component: "Text", text: "Body", variant: "body" },
      { id: "caption", component: "Text", text: "Caption", variant: "caption" },
      { id: "plain", component: "Text", text: "Plain" }
    )
    assert.deepStrictEqual(result.blocks.map((block) => block.data.content), ["# One", "## Two", "### Three", "#### Four", "##### Five", "Body", "Caption", "Plain"])
    assert.isTrue(result.blocks.every((block) => block.type === "text"))
    assert.deepStrictEqual(result.warnings, [])
  })

  it("Image (url and description) and Icon (an svgPath is an image; a named icon is a warning)", () => {
    const result = components(
      { id: "root", component: "Column", children: ["img", "svg", "named"] },
      { id: "img", component: "Image", url: "https://example.com/a.png", description: "A chart" },
      { id: "svg", component: "Icon", name: { svgPath: "M0 0L10 10" } },
      { id: "named", component: "Icon", name: "star" }
    )
    assert.deepStrictEqual(result.blocks[0], { type: "image", data: { src: "https://example.com/a.png", alt: "A chart" } })
    assert.strictEqual(result.blocks[1]!.type, "image")
    assert.match(String(result.blocks[1]!.data.src), /^data:image\/svg\+xml,/)
    assert.strictEqual(result.blocks.length, 2)
    assert.strictEqual(result.warnings.length, 1)
    assert.match(result.warnings[0]!, /\(named\).*icon "star"/)
  })

  it("Row: children are columns (weight from the child, default 1); one non-empty child is inlined", () => {
    const result = components(
      { id: "row", component: "Row", children: ["a", "b"] },
      { id: "a", component: "Text", text: "A", weight: 3 },
      { id: "b", component: "Text", text: "B" },
      { id: "solo", component: "Row", children: ["c"] },
      { id: "c", component: "Text", text: "C" }
    )
    assert.deepStrictEqual(result.blocks, [
      {
        type: "columns",
        data: { columns: [{ weight: 3, blocks: [{ type: "text", data: { content: "A" } }] }, { weight: 1, blocks: [{ type: "text", data: { content: "B" } }] }] }
      },
      { type: "text", data: { content: "C" } }
    ])
  })

  it("List: plain texts become one bulleted text; anything else stays blocks in order", () => {
    const plain = components(
      { id: "list", component: "List", children: ["a", "b"] },
      { id: "a", component: "Text", text: "Apples" },
      { id: "b", component: "Text", text: "Pears" }
    )
    assert.deepStrictEqual(plain.blocks, [{ type: "text", data: { content: "- Apples\n- Pears" } }])
    const mixed = components(
      { id: "list", component: "List", children: ["a", "d"] },
      { id: "a", component: "Text", text: "Apples" },
      { id: "d", component: "Divider" }
    )
    assert.deepStrictEqual(mixed.blocks, [{ type: "text", data: { content: "Apples" } }, { type: "divider", data: {} }])
  })

  it("templates and bindings resolve against dataModel and updateDataModel; a missing path is a warning", () => {
    const result = A2ui.translate({
      title: "Team",
      dataModel: { team: "Core" },
      updateDataModel: [{ surfaceId: "s", path: "/people", value: [{ name: "Ann" }, { name: "Bo" }] }],
      updateComponents: {
        surfaceId: "s",
        components: [
          { id: "root", component: "Column", children: ["heading", "list", "lost"] },
          { id: "heading", component: "Text", text: { path: "/team" }, variant: "h2" },
          { id: "list", component: "List", children: { componentId: "person", path: "/people" } },
          { id: "person", component: "Text", text: { path: "name" } },
          { id: "lost", component: "Text", text: { path: "/nowhere" } }
        ]
      }
    })
    assert.deepStrictEqual(result.blocks, [
      { type: "text", data: { content: "## Core" } },
      { type: "text", data: { content: "- Ann\n- Bo" } }
    ])
    assert.strictEqual(result.warnings.length, 1)
    assert.match(result.warnings[0]!, /\(lost\): text: data binding "\/nowhere"/)
  })

  it("Card groups its child's blocks; Tabs tag blocks with the tab's title; Modal is a closed collapsible titled by its trigger", () => {
    const result = components(
      { id: "root", component: "Column", children: ["card", "tabs", "modal"] },
      { id: "card", component: "Card", child: "cardText" },
      { id: "cardText", component: "Text", text: "In a card" },
      { id: "tabs", component: "Tabs", tabs: [{ title: "First", child: "t1" }, { title: "Second", child: "t2" }] },
      { id: "t1", component: "Text", text: "One" },
      { id: "t2", component: "Text", text: "Two" },
      { id: "modal", component: "Modal", trigger: "open", content: "details" },
      { id: "open", component: "Button", child: "openLabel", action: { event: { name: "open" } } },
      { id: "openLabel", component: "Text", text: "Details" },
      { id: "details", component: "Text", text: "Hidden detail" }
    )
    assert.deepStrictEqual(result.blocks, [
      { type: "text", group: "card", data: { content: "In a card" } },
      { type: "text", tab: "First", data: { content: "One" } },
      { type: "text", tab: "Second", data: { content: "Two" } },
      { type: "collapsible", title: "Details", data: { blocks: [{ type: "text", data: { content: "Hidden detail" } }], open: false } }
    ])
    assert.deepStrictEqual(result.actions, [])
    assert.deepStrictEqual(result.warnings, [])
  })

  it("Button is a page action (the event name, else the button's id; the child Text is the label); Divider is a divider", () => {
    const result = components(
      { id: "root", component: "Column", children: ["approve", "sep", "other", "local"] },
      { id: "approve", component: "Button", child: "approveLabel", variant: "primary", action: { event: { name: "approve_refund" } } },
      { id: "approveLabel", component: "Text", text: "Approve" },
      { id: "sep", component: "Divider" },
      { id: "other", component: "Button", child: "otherLabel", action: { event: { name: "" } } },
      { id: "otherLabel", component: "Text", text: "Other" },
      { id: "local", component: "Button", child: "otherLabel", action: { functionCall: { call: "openUrl" } } }
    )
    assert.deepStrictEqual(result.blocks, [{ type: "divider", data: {} }])
    assert.deepStrictEqual(result.actions, [
      { action_id: "approve_refund", label: "Approve", style: "primary" },
      { action_id: "other", label: "Other" }
    ])
    assert.strictEqual(result.warnings.length, 1)
    assert.match(result.warnings[0]!, /\(local\): action: a client-side function call/)
  })

  it("inputs side by side are one form: TextField, CheckBox, DateTimeInput, ChoicePicker, Slider", () => {
    const result = components(
      { id: "root", component: "Column", children: ["intro", "name", "notes", "age", "agree", "when", "plan", "score", "after"] },
      { id: "intro", component: "Text", text: "Tell us" },
      { id: "name", component: "TextField", label: "Name", value: { path: "/form/name" }, checks: [{ call: "required", args: { value: { path: "/form/name" } }, message: "Required" }] },
      { id: "notes", component: "TextField", label: "Notes", variant: "longText" },
      { id: "age", component: "TextField", label: "Age", variant: "number" },
      { id: "agree", component: "CheckBox", label: "I agree", value: false },
      { id: "when", component: "DateTimeInput", label: "When", value: "", enableDate: true },
      { id: "plan", component: "ChoicePicker", label: "Plan", options: [{ label: "Free", value: "free" }, { label: "Pro", value: "pro" }], value: [] },
      { id: "score", component: "Slider", label: "Score", value: 3, max: 10 },
      { id: "after", component: "Text", text: "Thanks" }
    )
    assert.deepStrictEqual(result.blocks, [
      { type: "text", data: { content: "Tell us" } },
      {
        type: "form",
        data: {
          fields: [
            { name: "name", label: "Name", type: "text", required: true },
            { name: "notes", label: "Notes", type: "textarea", required: false },
            { name: "age", label: "Age", type: "number", required: false },
            { name: "agree", label: "I agree", type: "checkbox", required: false },
            { name: "when", label: "When", type: "date", required: false },
            { name: "plan", label: "Plan", type: "select", required: false, options: ["free", "pro"] },
            { name: "score", label: "Score", type: "number", required: false }
          ]
        }
      },
      { type: "text", data: { content: "Thanks" } }
    ])
    assert.deepStrictEqual(result.warnings, [])
  })

  it("cycles, missing children, unknown components and duplicate ids are warnings, the rest still renders", () => {
    const result = components(
      { id: "root", component: "Column", children: ["a", "ghost", "odd"] },
      { id: "a", component: "Column", children: ["b"] },
      { id: "b", component: "Column", children: ["a", "text"] },
      { id: "text", component: "Text", text: "Still here" },
      { id: "odd", component: "Carousel", children: [] },
      { id: "text", component: "Text", text: "Replaced" }
    )
    assert.deepStrictEqual(result.blocks, [{ type: "text", data: { content: "Replaced" } }])
    assert.strictEqual(result.warnings.length, 4, result.warnings.join("\n"))
    assert.isTrue(result.warnings.some((warning) => /defined again/.test(warning)))
    assert.isTrue(result.warnings.some((warning) => /cycle: root → a → b → a/.test(warning)))
    assert.isTrue(result.warnings.some((warning) => /child "ghost" is not defined/.test(warning)))
    assert.isTrue(result.warnings.some((warning) => /unknown component "Carousel"/.test(warning)))
  })

  it("several roots render in list order; a list where everything is referenced starts at root", () => {
    assert.deepStrictEqual(
      components({ id: "x", component: "Text", text: "X" }, { id: "y", component: "Divider" }).blocks.map((block) => block.type),
      ["text", "divider"]
    )
    const loop = components(
      { id: "root", component: "Column", children: ["t", "other"] },
      { id: "t", component: "Text", text: "T" },
      { id: "other", component: "Column", children: ["root"] }
    )
    assert.deepStrictEqual(loop.blocks, [{ type: "text", data: { content: "T" } }])
    assert.isTrue(loop.warnings.some((warning) => /a cycle/.test(warning)))
  })

  it("componentsOf names the field when there are no components", () => {
    assert.deepStrictEqual(A2ui.componentsOf({ updateComponents: { components: "no" } }), {
      _tag: "Missing",
      field: "updateComponents.components",
      constraint: "an array of A2UI components"
    })
    assert.strictEqual((A2ui.componentsOf({ title: "x" }) as { field: string }).field, "updateComponents.components")
    assert.strictEqual((A2ui.componentsOf(42) as { field: string }).field, "body")
  })
})

describe("AG-UI", () => {
  it("seed 003's example: stepper, code, result callout, text; thread and run in metadata", () => {
    // Seed 003's example as printed, but for TOOL_CALL_RESULT's `messageId`, which @ag-ui/core 1.0
    // requires (the server reads the result without it too: see the next test).
    const events = agui(
      { type: "RUN_STARTED", threadId: "t1", runId: "r1" },
      { type: "STEP_STARTED", stepName: "research" },
      { type: "TOOL_CALL_START", toolCallId: "tc1", toolCallName: "search_db" },
      { type: "TOOL_CALL_ARGS", toolCallId: "tc1", delta: "{\"query\": \"refunds\"}" },
      { type: "TOOL_CALL_END", toolCallId: "tc1" },
      { type: "TOOL_CALL_RESULT", messageId: "m0", toolCallId: "tc1", content: "Found 5 records" },
      { type: "TEXT_MESSAGE_START", messageId: "m1", role: "assistant" },
      { type: "TEXT_MESSAGE_CONTENT", messageId: "m1", delta: "## Summary\n\n..." },
      { type: "TEXT_MESSAGE_END", messageId: "m1" },
      { type: "RUN_FINISHED", threadId: "t1", runId: "r1" }
    )
    const result = AgUi.translate(events)
    assert.deepStrictEqual(result.blocks, [
      { type: "stepper", data: { steps: [{ label: "research", status: "active" }] } },
      { type: "code", title: "search_db", data: { content: "{\n  \"query\": \"refunds\"\n}", language: "json" } },
      { type: "callout", title: "Result of search_db", data: { content: "Found 5 records", style: "info" } },
      { type: "text", data: { content: "## Summary\n\n..." } }
    ])
    assert.deepStrictEqual(result.warnings, [])
    assert.deepStrictEqual(result.metadata, { thread_id: "t1", run_id: "r1" })
  })

  it("the seed's TOOL_CALL_RESULT without messageId is read as well", () => {
    assert.isFalse(EventSchemas.safeParse({ type: "TOOL_CALL_RESULT", toolCallId: "tc1", content: "Found 5 records" }).success)
    const result = AgUi.translate([
      { type: "TOOL_CALL_START", toolCallId: "tc1", toolCallName: "search_db" },
      { type: "TOOL_CALL_RESULT", toolCallId: "tc1", content: "Found 5 records" }
    ])
    assert.deepStrictEqual(result.blocks[1], { type: "callout", title: "Result of search_db", data: { content: "Found 5 records", style: "info" } })
    assert.deepStrictEqual(result.warnings, [])
  })

  it("text messages: deltas and chunks join per message; user messages are quoted; system ones skipped", () => {
    const result = AgUi.translate(agui(
      { type: "TEXT_MESSAGE_START", messageId: "u1", role: "user" },
      { type: "TEXT_MESSAGE_CONTENT", messageId: "u1", delta: "Why?\nPlease" },
      { type: "TEXT_MESSAGE_END", messageId: "u1" },
      { type: "TEXT_MESSAGE_START", messageId: "a1" },
      { type: "TEXT_MESSAGE_CONTENT", messageId: "a1", delta: "Because " },
      { type: "TEXT_MESSAGE_CONTENT", messageId: "a1", delta: "of that." },
      { type: "TEXT_MESSAGE_END", messageId: "a1" },
      { type: "TEXT_MESSAGE_CHUNK", messageId: "c1", role: "assistant", delta: "Chunked " },
      { type: "TEXT_MESSAGE_CHUNK", delta: "text" },
      { type: "TEXT_MESSAGE_START", messageId: "s1", role: "system" },
      { type: "TEXT_MESSAGE_CONTENT", messageId: "s1", delta: "hidden" },
      { type: "TEXT_MESSAGE_CONTENT", messageId: "nope", delta: "lost" }
    ))
    assert.deepStrictEqual(result.blocks, [
      { type: "text", title: "User", data: { content: "> Why?\n> Please" } },
      { type: "text", data: { content: "Because of that." } },
      { type: "text", data: { content: "Chunked text" } }
    ])
    assert.strictEqual(result.warnings.length, 2, result.warnings.join("\n"))
    assert.match(result.warnings[0]!, /events\[9\]\.role: "system"/)
    assert.match(result.warnings[1]!, /events\[11\]\.messageId: "nope" was not started/)
  })

  it("tool calls: chunks, arguments that are not JSON, content parts, an unknown call's result", () => {
    const result = AgUi.translate(agui(
      { type: "TOOL_CALL_CHUNK", toolCallId: "t1", toolCallName: "grep", delta: "{\"q\":" },
      { type: "TOOL_CALL_CHUNK", delta: "1}" },
      { type: "TOOL_CALL_START", toolCallId: "t2", toolCallName: "shell" },
      { type: "TOOL_CALL_ARGS", toolCallId: "t2", delta: "ls -la" },
      { type: "TOOL_CALL_END", toolCallId: "t2" },
      { type: "TOOL_CALL_RESULT", messageId: "r", toolCallId: "t2", content: [{ type: "text", text: "a.txt" }, { type: "text", text: "b.txt" }] },
      { type: "TOOL_CALL_RESULT", messageId: "r2", toolCallId: "t9", content: "orphan" }
    ))
    assert.deepStrictEqual(result.blocks, [
      { type: "code", title: "grep", data: { content: "{\n  \"q\": 1\n}", language: "json" } },
      { type: "code", title: "shell", data: { content: "ls -la", language: "json" } },
      { type: "callout", title: "Result of shell", data: { content: "a.txt\n\nb.txt", style: "info" } },
      { type: "callout", title: "Result of t9", data: { content: "orphan", style: "info" } }
    ])
    assert.strictEqual(result.warnings.length, 1)
    assert.match(result.warnings[0]!, /events\[6\]\.toolCallId: "t9" was not started/)
  })

  it("steps: finished ones completed, the open one active; RUN_ERROR makes it error and adds an error callout", () => {
    const ok = AgUi.translate(agui(
      { type: "STEP_STARTED", stepName: "plan" },
      { type: "STEP_FINISHED", stepName: "plan" },
      { type: "STEP_STARTED", stepName: "act" }
    ))
    assert.deepStrictEqual(ok.blocks, [{ type: "stepper", data: { steps: [{ label: "plan", status: "completed" }, { label: "act", status: "active" }] } }])
    const failed = AgUi.translate(agui(
      { type: "STEP_STARTED", stepName: "plan" },
      { type: "STEP_FINISHED", stepName: "plan" },
      { type: "STEP_STARTED", stepName: "act" },
      { type: "RUN_ERROR", message: "Quota exceeded", code: "429" },
      { type: "STEP_FINISHED", stepName: "never" }
    ))
    assert.deepStrictEqual(failed.blocks, [
      { type: "stepper", data: { steps: [{ label: "plan", status: "completed" }, { label: "act", status: "error" }] } },
      { type: "callout", title: "Run error (429)", data: { content: "Quota exceeded", style: "error" } }
    ])
    assert.match(failed.warnings[0]!, /events\[4\]\.stepName: "never" was not started/)
  })

  it("reasoning (REASONING_* and the older THINKING_*) is a closed collapsible; state snapshots a closed code block", () => {
    const result = AgUi.translate([
      ...agui(
        { type: "REASONING_START", messageId: "r1" },
        { type: "REASONING_MESSAGE_START", messageId: "r1", role: "reasoning" },
        { type: "REASONING_MESSAGE_CONTENT", messageId: "r1", delta: "Let me think" },
        { type: "REASONING_MESSAGE_END", messageId: "r1" },
        { type: "REASONING_END", messageId: "r1" },
        { type: "STATE_SNAPSHOT", snapshot: { n: 1 } },
        { type: "STATE_SNAPSHOT", snapshot: { n: 2 } }
      ),
      // Pre-1.0 AG-UI names, no longer in @ag-ui/core's schemas.
      { type: "THINKING_START" },
      { type: "THINKING_TEXT_MESSAGE_START" },
      { type: "THINKING_TEXT_MESSAGE_CONTENT", delta: "Old style" },
      { type: "THINKING_TEXT_MESSAGE_END" },
      { type: "THINKING_END" }
    ])
    assert.deepStrictEqual(result.blocks, [
      { type: "collapsible", title: "Reasoning", data: { content: "Let me think", open: false } },
      { type: "collapsible", title: "State", data: { open: false, blocks: [{ type: "code", data: { content: "{\n  \"n\": 2\n}", language: "json" } }] } },
      { type: "collapsible", title: "Reasoning", data: { content: "Old style", open: false } }
    ])
    assert.deepStrictEqual(result.warnings, [])
  })

  it("RAW, CUSTOM, STATE_DELTA, MESSAGES_SNAPSHOT and unknown types are warnings", () => {
    const result = AgUi.translate([
      ...agui(
        { type: "RAW", event: { x: 1 } },
        { type: "CUSTOM", name: "n", value: 1 },
        { type: "STATE_DELTA", delta: [] },
        { type: "MESSAGES_SNAPSHOT", messages: [] }
      ),
      { type: "SOMETHING_NEW" }
    ])
    assert.deepStrictEqual(result.blocks, [])
    assert.strictEqual(result.warnings.length, 5)
    assert.match(result.warnings[4]!, /events\[4\]\.type: unknown AG-UI event "SOMETHING_NEW"/)
  })

  it("check: not an array, an event without a type, too many events name the field", () => {
    assert.deepStrictEqual(AgUi.check({}), { problem: { field: "events", constraint: "an array of AG-UI events" } })
    assert.deepStrictEqual(AgUi.check([{ type: "RUN_STARTED" }, { delta: "x" }]), {
      problem: { field: "events[1].type", constraint: "an AG-UI event type (a string)" }
    })
    assert.strictEqual((AgUi.check([3]) as { problem: { field: string } }).problem.field, "events[0]")
    assert.strictEqual((AgUi.check(Array.from({ length: 5001 }, () => ({ type: "RAW" }))) as { problem: { field: string } }).problem.field, "events")
  })
})

/** mulberry32: a small seeded generator, so a failing case replays with its seed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const componentNames = ["Text", "Image", "Icon", "Row", "Column", "List", "Card", "Tabs", "Modal", "Divider", "Button", "TextField", "CheckBox", "ChoicePicker", "Slider", "DateTimeInput", "Video", "Nope"]
const eventTypes = ["RUN_STARTED", "RUN_FINISHED", "RUN_ERROR", "STEP_STARTED", "STEP_FINISHED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "TEXT_MESSAGE_CHUNK", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_CHUNK", "TOOL_CALL_RESULT", "REASONING_START", "REASONING_MESSAGE_CONTENT", "THINKING_TEXT_MESSAGE_CONTENT", "STATE_SNAPSHOT", "RAW", "WHAT"]

const junk = (next: () => number, depth: number, ids: ReadonlyArray<string>): unknown => {
  const pick = <A>(list: ReadonlyArray<A>): A => list[Math.floor(next() * list.length)]!
  const roll = next()
  if (depth <= 0 || roll < 0.3) return pick<unknown>([null, true, 0, -1.5, "", "x", "h1", "__proto__", "{\"a\":", pick(ids), 1e308, "/a/0"])
  if (roll < 0.5) return Array.from({ length: Math.floor(next() * 4) }, () => junk(next, depth - 1, ids))
  if (roll < 0.6) return { path: pick(["/a", "a", "/nope/x", "", "/"]) }
  const keys = ["id", "component", "text", "children", "child", "tabs", "trigger", "content", "variant", "url", "weight", "action", "event", "name", "value", "options", "label", "checks", "explicitList", "componentId", "path", "type", "delta", "messageId", "toolCallId", "toolCallName", "stepName", "role", "snapshot", "title"]
  const out: Record<string, unknown> = {}
  for (let i = Math.floor(next() * 6); i > 0; i--) out[pick(keys)] = junk(next, depth - 1, ids)
  return out
}

describe("junk never throws", () => {
  it("A2UI: 400 random surfaces give blocks and warnings", () => {
    for (let seed = 1; seed <= 400; seed++) {
      const next = random(seed)
      const ids = ["a", "b", "c", "d", "root"]
      const list = Array.from({ length: Math.floor(next() * 12) }, () => {
        const base = junk(next, 3, ids)
        return next() < 0.7 && typeof base === "object" && base !== null && !Array.isArray(base)
          ? { ...base, id: ids[Math.floor(next() * ids.length)], component: componentNames[Math.floor(next() * componentNames.length)] }
          : base
      })
      const body = next() < 0.5 ? list : { title: junk(next, 1, ids), updateComponents: { components: list }, dataModel: junk(next, 3, ids), updateDataModel: junk(next, 2, ids) }
      try {
        const result = A2ui.translate(body)
        assert.isString(result.title)
        for (const block of result.blocks) {
          assert.isString(block.type)
          assert.isObject(block.data)
        }
        for (const warning of result.warnings) assert.isString(warning)
        JSON.stringify(result)
      } catch (error) {
        assert.fail(`seed ${seed}: ${String(error)}\n${JSON.stringify(body)}`)
      }
      A2ui.translate(junk(next, 4, ids))
    }
  })

  it("AG-UI: 400 random event lists give blocks and warnings", () => {
    for (let seed = 1; seed <= 400; seed++) {
      const next = random(seed)
      const ids = ["m1", "m2", "tc1", "s"]
      const events = Array.from({ length: Math.floor(next() * 20) }, () => {
        const base = junk(next, 2, ids)
        return next() < 0.8 && typeof base === "object" && base !== null && !Array.isArray(base)
          ? { ...base, type: eventTypes[Math.floor(next() * eventTypes.length)] }
          : base
      })
      try {
        const checked = AgUi.check(events)
        if ("problem" in checked) assert.match(checked.problem.field, /^events(\[\d+\](\.type)?)?$/)
        const result = AgUi.translate(events)
        for (const block of result.blocks) {
          assert.isString(block.type)
          assert.isObject(block.data)
        }
        JSON.stringify(result)
      } catch (error) {
        assert.fail(`seed ${seed}: ${String(error)}\n${JSON.stringify(events)}`)
      }
    }
  })

  it("a deep diamond of shared children stops at the render budget instead of growing exponentially", () => {
    const list: Array<Record<string, unknown>> = [{ id: "n0", component: "Column", children: ["n1", "n1"] }]
    for (let i = 1; i < 40; i++) list.push({ id: `n${i}`, component: "Column", children: [`n${i + 1}`, `n${i + 1}`] })
    list.push({ id: "n40", component: "Text", text: "leaf" })
    const result = A2ui.translate(list)
    assert.isTrue(result.warnings.some((warning) => /rendered components/.test(warning)))
  })
})

// ---------------------------------------------------------------------------------------------
// Over real HTTP: the routes publish what the translations make, and refuse only what cannot be read.

const T = 120_000
type Json = Record<string, unknown>

const call = (method: "GET" | "POST", path: string, options: TestKit.RequestOptions = {}) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, options)
    const text = yield* response.text
    return { status: response.status, body: (text === "" ? null : JSON.parse(text)) as Json, text }
  })

/** The stored page's row, its JSON columns parsed (PGlite and PostgreSQL alike). */
const stored = (pageId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly status: string; readonly title: string; readonly page_type: string; readonly summary: string | null } & Json>`SELECT status, title, page_type, summary, tags, blocks, actions, access, metadata FROM pages.pages WHERE id = ${pageId}`
    assert.strictEqual(rows.length, 1, `page ${pageId} is stored`)
    const row = rows[0]!
    const parse = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) as unknown : value)
    return {
      ...row,
      tags: parse(row.tags),
      blocks: parse(row.blocks) as ReadonlyArray<Json>,
      actions: parse(row.actions) as ReadonlyArray<Json>,
      access: parse(row.access) as Json,
      metadata: parse(row.metadata) as Json | null
    }
  })

const pageCount = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly n: number | string }>`SELECT count(*) AS n FROM pages.pages`
  return Number(rows[0]!.n)
})

/** Blocks as the translation made them: without the ids the store assigned. */
const withoutIds = (blocks: ReadonlyArray<Json>): ReadonlyArray<Json> =>
  blocks.map(({ id: _id, ...rest }) => {
    const data = rest.data as Json
    if (Array.isArray(data.blocks)) return { ...rest, data: { ...data, blocks: withoutIds(data.blocks as ReadonlyArray<Json>) } }
    if (rest.type === "columns" && Array.isArray(data.columns)) {
      return { ...rest, data: { ...data, columns: (data.columns as ReadonlyArray<Json>).map((column) => ({ ...column, blocks: withoutIds(column.blocks as ReadonlyArray<Json>) })) } }
    }
    return rest
  })

const refused = (path: string, body: unknown, field: string) =>
  Effect.gen(function*() {
    const before = yield* pageCount
    const reply = yield* call("POST", path, { body })
    assert.strictEqual(reply.status, 400, reply.text)
    assert.strictEqual((reply.body.error as Json).code, "INVALID_REQUEST", reply.text)
    assert.include(reply.text, field)
    assert.strictEqual(yield* pageCount, before, "nothing was published")
    return reply.body
  })

layer(TestKit.layer({ plugins: [RunsPlugin, PagesPlugin] }), { timeout: T, excludeTestServices: true })("protocol publishing over HTTP", (it) => {
  it.effect("POST /v1/publish/a2ui: seed 003's envelope publishes the documented blocks", () =>
    Effect.gen(function*() {
      const reply = yield* call("POST", "/v1/publish/a2ui", {
        body: seedExample
      })
      assert.strictEqual(reply.status, 201, reply.text)
      const pageId = reply.body.pageId as string
      assert.match(pageId, /^pg_[a-z0-9]{12}$/)
      assert.strictEqual(reply.body.status, "active")
      assert.match(reply.body.pageUrl as string, new RegExp(`/p/${pageId}$`))
      assert.deepStrictEqual(reply.body.warnings, [])
      const page = yield* stored(pageId)
      assert.strictEqual(page.title, "User Profile")
      assert.strictEqual(page.status, "active")
      assert.deepStrictEqual(withoutIds(page.blocks), [
        { type: "text", data: { content: "# Alice Wang" } },
        {
          type: "columns",
          data: {
            columns: [
              { weight: 2, blocks: [{ type: "text", data: { content: "Engineer @ Acme" } }] },
              { weight: 1, blocks: [{ type: "image", data: { src: "https://example.com/alice.png" } }] }
            ]
          }
        }
      ])
      assert.deepStrictEqual(page.metadata, { surface_id: "demo" })
    }), T)

  it.effect("POST /v1/publish/a2ui: a bare array, Buttons as actions after the body's, page fields honoured, warnings returned", () =>
    Effect.gen(function*() {
      const bare = yield* call("POST", "/v1/publish/a2ui", {
        body: [{ id: "h", component: "Text", text: "From an array", variant: "h1" }, { id: "x", component: "Sparkles" }]
      })
      assert.strictEqual(bare.status, 201, bare.text)
      assert.strictEqual((yield* stored(bare.body.pageId as string)).title, "From an array")
      assert.isTrue((bare.body.warnings as ReadonlyArray<string>).some((warning) => warning.includes("unknown component \"Sparkles\"")), bare.text)

      const reply = yield* call("POST", "/v1/publish/a2ui", {
        body: {
          title: "Refund",
          page_type: "approval",
          summary: "Approve the refund",
          tags: ["refunds"],
          access: { mode: "private" },
          actions: [{ action_id: "reject", label: "Reject" }],
          metadata: { ticket: "T-1" },
          components: [
            { id: "root", component: "Column", children: ["text", "ok", "no"] },
            { id: "text", component: "Text", text: "Refund 42 EUR?" },
            { id: "ok", component: "Button", child: "okLabel", variant: "primary", action: { event: { name: "approve" } } },
            { id: "okLabel", component: "Text", text: "Approve" },
            { id: "no", component: "Button", child: "noLabel", action: { event: { name: "reject" } } },
            { id: "noLabel", component: "Text", text: "No" }
          ]
        }
      })
      assert.strictEqual(reply.status, 201, reply.text)
      const page = yield* stored(reply.body.pageId as string)
      assert.strictEqual(page.page_type, "approval")
      assert.strictEqual(page.summary, "Approve the refund")
      assert.deepStrictEqual(page.tags, ["refunds"])
      assert.strictEqual(page.access.mode, "private")
      assert.deepStrictEqual(page.metadata, { ticket: "T-1" })
      assert.deepStrictEqual(page.actions.map((action) => [action.action_id, action.label]), [["reject", "Reject"], ["approve", "Approve"]])
      assert.isTrue((reply.body.warnings as ReadonlyArray<string>).some((warning) => warning.includes("\"reject\" is also in the body's actions")), reply.text)
    }), T)

  it.effect("POST /v1/publish/ag-ui: seed 003's events publish the documented blocks, thread and run in metadata", () =>
    Effect.gen(function*() {
      const reply = yield* call("POST", "/v1/publish/ag-ui", {
        body: {
          title: "Agent Analysis",
          events: [
            { type: "RUN_STARTED", threadId: "t1", runId: "r1" },
            { type: "STEP_STARTED", stepName: "research" },
            { type: "TOOL_CALL_START", toolCallId: "tc1", toolCallName: "search_db" },
            { type: "TOOL_CALL_ARGS", toolCallId: "tc1", delta: "{\"query\": \"refunds\"}" },
            { type: "TOOL_CALL_END", toolCallId: "tc1" },
            { type: "TOOL_CALL_RESULT", toolCallId: "tc1", content: "Found 5 records" },
            { type: "TEXT_MESSAGE_START", messageId: "m1", role: "assistant" },
            { type: "TEXT_MESSAGE_CONTENT", messageId: "m1", delta: "## Summary\n\n..." },
            { type: "TEXT_MESSAGE_END", messageId: "m1" },
            { type: "RUN_FINISHED", threadId: "t1", runId: "r1" }
          ]
        }
      })
      assert.strictEqual(reply.status, 201, reply.text)
      assert.deepStrictEqual(reply.body.warnings, [])
      const page = yield* stored(reply.body.pageId as string)
      assert.strictEqual(page.title, "Agent Analysis")
      assert.deepStrictEqual(withoutIds(page.blocks), [
        { type: "stepper", data: { steps: [{ label: "research", status: "active" }] } },
        { type: "code", title: "search_db", data: { content: "{\n  \"query\": \"refunds\"\n}", language: "json" } },
        { type: "callout", title: "Result of search_db", data: { content: "Found 5 records", style: "info" } },
        { type: "text", data: { content: "## Summary\n\n..." } }
      ])
      assert.deepStrictEqual(page.metadata, { thread_id: "t1", run_id: "r1" })
    }), T)

  it.effect("unknown events and components are warnings: the page publishes", () =>
    Effect.gen(function*() {
      const reply = yield* call("POST", "/v1/publish/ag-ui", {
        body: { events: [{ type: "CUSTOM", name: "x", value: 1 }, { type: "TEXT_MESSAGE_CONTENT", messageId: "ghost", delta: "?" }, { type: "NEW_THING" }] }
      })
      assert.strictEqual(reply.status, 201, reply.text)
      assert.strictEqual((yield* stored(reply.body.pageId as string)).title, "Untitled")
      const warnings = reply.body.warnings as ReadonlyArray<string>
      for (const expected of ["events[0]", "events[1].messageId", "events[2].type"]) {
        assert.isTrue(warnings.some((warning) => warning.startsWith(expected)), `${expected} in ${reply.text}`)
      }
    }), T)

  it.effect("what cannot be read is a 400 naming the field, and publishes nothing", () =>
    Effect.gen(function*() {
      yield* refused("/v1/publish/ag-ui", { title: "x", events: "not a list" }, "events")
      yield* refused("/v1/publish/ag-ui", { title: "x" }, "events")
      yield* refused("/v1/publish/ag-ui", { title: "x", events: [{ type: "RUN_STARTED" }, { delta: "no type" }] }, "events[1].type")
      yield* refused("/v1/publish/ag-ui", { title: "x", events: [{ type: 7 }] }, "events[0].type")
      yield* refused("/v1/publish/ag-ui", { title: "x", events: [null] }, "events[0]")
      yield* refused("/v1/publish/ag-ui", { title: "x", events: Array.from({ length: 5001 }, () => ({ type: "RAW", event: 1 })) }, "events")
      yield* refused("/v1/publish/ag-ui", { title: "x", events: [], access: { mode: "everyone" } }, "body.access.mode")
      // Within the event limit, but more blocks than a page holds: the list they came from is named.
      const many = yield* refused(
        "/v1/publish/ag-ui",
        { title: "x", events: Array.from({ length: 600 }, (_, i) => ({ type: "TEXT_MESSAGE_CHUNK", messageId: `m${i}`, delta: "hi" })) },
        "events"
      )
      assert.strictEqual((many.error as Json & { details: Json }).details.field, "events", JSON.stringify(many))
      yield* refused("/v1/publish/a2ui", { title: "x" }, "updateComponents.components")
      yield* refused("/v1/publish/a2ui", { title: "x", updateComponents: { surfaceId: "s", components: "nope" } }, "components")
      yield* refused("/v1/publish/a2ui", { title: "x", components: Array.from({ length: 5001 }, (_, i) => ({ id: `t${i}`, component: "Divider" })) }, "components")
      yield* refused("/v1/publish/a2ui", "just a string", "\"body\"")
      yield* refused("/v1/publish/a2ui", { title: "x", components: [], access: { mode: "everyone" } }, "body.access.mode")
    }), T)

  it.effect("junk bodies never give a 500", () =>
    Effect.gen(function*() {
      const next = random(7)
      for (let i = 0; i < 40; i++) {
        const ids = ["a", "b", "root", "m1", "tc1"]
        const list = Array.from({ length: Math.floor(next() * 8) }, () => {
          const base = junk(next, 3, ids)
          return typeof base === "object" && base !== null && !Array.isArray(base)
            ? { ...base, id: ids[Math.floor(next() * ids.length)], component: componentNames[Math.floor(next() * componentNames.length)], type: eventTypes[Math.floor(next() * eventTypes.length)] }
            : base
        })
        const a2ui = yield* call("POST", "/v1/publish/a2ui", { body: next() < 0.5 ? list : { title: "junk", updateComponents: { surfaceId: "s", components: list }, dataModel: junk(next, 2, ids) } })
        assert.include([201, 400], a2ui.status, a2ui.text)
        const agui = yield* call("POST", "/v1/publish/ag-ui", { body: { title: "junk", events: list } })
        assert.include([201, 400], agui.status, agui.text)
      }
    }), T)

  it.effect("needs a key with pages:write", () =>
    Effect.gen(function*() {
      const body = { title: "x", events: [] }
      const anonymous = yield* call("POST", "/v1/publish/ag-ui", { token: null, body })
      assert.strictEqual(anonymous.status, 401, anonymous.text)
      const kit = yield* TestKit.TrellisTest
      const created = yield* kit.request("POST", "/api/v1/orgs/org_default/service-keys", { body: { name: "svc-pages-reader", scopes: ["pages:read"] } })
      assert.strictEqual(created.status, 201)
      const key = (JSON.parse(yield* created.text) as { key: string }).key
      const reader = yield* call("POST", "/v1/publish/a2ui", { token: key, body: [{ id: "t", component: "Divider" }] })
      assert.strictEqual(reader.status, 403, reader.text)
      const writer = yield* kit.request("POST", "/api/v1/orgs/org_default/service-keys", { body: { name: "svc-pages-writer", scopes: ["pages:write"] } })
      assert.strictEqual(writer.status, 201)
      const writerKey = (JSON.parse(yield* writer.text) as { key: string }).key
      const written = yield* call("POST", "/v1/publish/a2ui", { token: writerKey, body: [{ id: "t", component: "Divider" }] })
      assert.strictEqual(written.status, 201, written.text)
    }), T)
})
