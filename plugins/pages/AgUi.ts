/**
 * AG-UI events to Surflet blocks (seed 003, `POST /v1/publish/ag-ui`): a pure translation of a
 * recorded agent run (the event names and fields of `@ag-ui/core` 1.0) into a page that tells
 * what happened: the assistant's messages, the tools it called and what they answered, its steps,
 * its reasoning and its error. Blocks keep the order in which their first event came.
 *
 * It never throws: an event it cannot use (an unknown type, a delta for a message that never
 * started, RAW or CUSTOM) is left out with a warning naming `events[i]`. What makes the list
 * unreadable (not an array, an event without a `type`, too many events) is `check`'s 400.
 *
 * Client-safe: no imports.
 */
import type { TranslatedBlock } from "./A2ui.ts"

/** Most events one request may carry. */
export const maxEvents = 5_000

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

export interface AgUiTranslation {
  readonly blocks: ReadonlyArray<TranslatedBlock>
  readonly warnings: ReadonlyArray<string>
  /** `thread_id` and `run_id` from RUN_STARTED / RUN_FINISHED, for the page's metadata. */
  readonly metadata: Readonly<Record<string, string>>
}

/** Why a body's `events` cannot be read at all: the route's 400 names `field`. */
export interface EventsProblem {
  readonly field: string
  readonly constraint: string
}

/** The events of a body, or the first reason they cannot be read. */
export const check = (events: unknown): { readonly events: ReadonlyArray<Json> } | { readonly problem: EventsProblem } => {
  if (!Array.isArray(events)) return { problem: { field: "events", constraint: "an array of AG-UI events" } }
  if (events.length > maxEvents) return { problem: { field: "events", constraint: `at most ${maxEvents} events` } }
  for (let i = 0; i < events.length; i++) {
    const event: unknown = events[i]
    if (!isObject(event)) return { problem: { field: `events[${i}]`, constraint: "an object with a `type`" } }
    if (typeof event.type !== "string" || event.type === "") {
      return { problem: { field: `events[${i}].type`, constraint: "an AG-UI event type (a string)" } }
    }
  }
  return { events: events as ReadonlyArray<Json> }
}

/** A block in the making; `render` turns it into its final form once every event is read. */
interface Slot {
  readonly render: () => TranslatedBlock | undefined
}

interface Message {
  readonly role: string
  content: string
}

interface ToolCall {
  readonly name: string
  args: string
}

interface Step {
  readonly label: string
  status: "active" | "completed" | "error"
}

const reasoningTypes = new Set([
  "REASONING_START",
  "REASONING_MESSAGE_START",
  "REASONING_MESSAGE_CONTENT",
  "REASONING_MESSAGE_END",
  "REASONING_MESSAGE_CHUNK",
  "REASONING_END",
  "THINKING_START",
  "THINKING_END",
  "THINKING_TEXT_MESSAGE_START",
  "THINKING_TEXT_MESSAGE_CONTENT",
  "THINKING_TEXT_MESSAGE_END"
])

const quote = (text: string) => text.split("\n").map((line) => line === "" ? ">" : `> ${line}`).join("\n")

/** The text of a TOOL_CALL_RESULT's content: a string, or the text parts of a content list. */
const contentText = (content: unknown, where: string, warnings: Array<string>): string | undefined => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return undefined
  const texts: Array<string> = []
  content.forEach((part, i) => {
    if (isObject(part) && part.type === "text" && typeof part.text === "string") texts.push(part.text)
    else warnings.push(`${where}.content[${i}]: only text parts are shown (left out)`)
  })
  return texts.join("\n\n")
}

/** Translates AG-UI events (already `check`ed, or anything: what is not an event is a warning). */
export const translate = (events: ReadonlyArray<unknown>): AgUiTranslation => {
  const warnings: Array<string> = []
  const slots: Array<Slot> = []
  const metadata: Record<string, string> = {}
  const messages = new Map<string, Message>()
  const tools = new Map<string, ToolCall>()
  const reasonings = new Map<string, Message>()
  const steps: Array<Step> = []
  let stepsSlot = false
  let lastChunkMessage: string | undefined
  let lastChunkTool: string | undefined
  let currentReasoning: string | undefined
  let thinkingCount = 0
  let state: { value: unknown } | undefined
  let runFailed = false

  const str = (event: Json, key: string): string | undefined =>
    typeof event[key] === "string" && event[key] !== "" ? event[key] : undefined

  const startMessage = (id: string, role: string, where: string) => {
    if (messages.has(id)) return void warnings.push(`${where}.messageId: "${id}" already started (its content continues)`)
    if (role !== "assistant" && role !== "user") {
      warnings.push(`${where}.role: "${role}" messages are not shown on a page (skipped)`)
      messages.set(id, { role, content: "" })
      return
    }
    const message: Message = { role, content: "" }
    messages.set(id, message)
    slots.push({
      render: () => {
        if (message.content.trim() === "") return undefined
        return message.role === "user"
          ? { type: "text", title: "User", data: { content: quote(message.content) } }
          : { type: "text", data: { content: message.content } }
      }
    })
  }

  const startTool = (id: string, name: string) => {
    const call: ToolCall = { name, args: "" }
    tools.set(id, call)
    slots.push({
      render: () => {
        let content = call.args.trim() === "" ? "{}" : call.args
        try {
          content = JSON.stringify(JSON.parse(content), null, 2)
        } catch {
          // Not JSON (or a partial stream): shown as it came.
        }
        return { type: "code", title: call.name, data: { content, language: "json" } }
      }
    })
  }

  const startReasoning = (id: string) => {
    if (reasonings.has(id)) return reasonings.get(id)!
    const message: Message = { role: "reasoning", content: "" }
    reasonings.set(id, message)
    slots.push({
      render: () =>
        message.content.trim() === ""
          ? undefined
          : { type: "collapsible", title: "Reasoning", data: { content: message.content, open: false } }
    })
    return message
  }

  events.forEach((raw, i) => {
    const where = `events[${i}]`
    if (!isObject(raw) || typeof raw.type !== "string") return void warnings.push(`${where}.type: missing (skipped)`)
    const event = raw
    const type = event.type as string
    const need = (key: string): string | undefined => {
      const value = str(event, key)
      if (value === undefined) warnings.push(`${where}.${key}: missing (${type} skipped)`)
      return value
    }
    const delta = typeof event.delta === "string" ? event.delta : ""

    switch (type) {
      case "RUN_STARTED":
      case "RUN_FINISHED": {
        const threadId = str(event, "threadId")
        const runId = str(event, "runId")
        if (threadId !== undefined) metadata.thread_id = threadId
        if (runId !== undefined) metadata.run_id = runId
        return
      }
      case "RUN_ERROR": {
        runFailed = true
        const message = str(event, "message") ?? "The run failed"
        const code = str(event, "code")
        slots.push({ render: () => ({ type: "callout", title: code === undefined ? "Run error" : `Run error (${code})`, data: { content: message, style: "error" } }) })
        return
      }
      case "STEP_STARTED": {
        const name = need("stepName")
        if (name === undefined) return
        steps.push({ label: name, status: "active" })
        if (!stepsSlot) {
          stepsSlot = true
          slots.push({
            render: () => {
              if (runFailed) {
                const current = steps.findLast((step) => step.status === "active")
                if (current !== undefined) current.status = "error"
              }
              return { type: "stepper", data: { steps: steps.map((step) => ({ label: step.label, status: step.status })) } }
            }
          })
        }
        return
      }
      case "STEP_FINISHED": {
        const name = need("stepName")
        if (name === undefined) return
        const step = steps.findLast((candidate) => candidate.label === name && candidate.status === "active")
        if (step === undefined) return void warnings.push(`${where}.stepName: "${name}" was not started (skipped)`)
        step.status = "completed"
        return
      }
      case "TEXT_MESSAGE_START": {
        const id = need("messageId")
        if (id === undefined) return
        startMessage(id, str(event, "role") ?? "assistant", where)
        return
      }
      case "TEXT_MESSAGE_CONTENT": {
        const id = need("messageId")
        if (id === undefined) return
        const message = messages.get(id)
        if (message === undefined) return void warnings.push(`${where}.messageId: "${id}" was not started (delta skipped)`)
        message.content += delta
        return
      }
      case "TEXT_MESSAGE_END": {
        const id = need("messageId")
        if (id !== undefined && !messages.has(id)) warnings.push(`${where}.messageId: "${id}" was not started`)
        return
      }
      case "TEXT_MESSAGE_CHUNK": {
        const id = str(event, "messageId") ?? lastChunkMessage
        if (id === undefined) return void warnings.push(`${where}.messageId: missing on a first chunk (skipped)`)
        if (!messages.has(id)) startMessage(id, str(event, "role") ?? "assistant", where)
        lastChunkMessage = id
        messages.get(id)!.content += delta
        return
      }
      case "TOOL_CALL_START": {
        const id = need("toolCallId")
        const name = need("toolCallName")
        if (id === undefined || name === undefined) return
        if (tools.has(id)) return void warnings.push(`${where}.toolCallId: "${id}" already started (skipped)`)
        startTool(id, name)
        return
      }
      case "TOOL_CALL_ARGS": {
        const id = need("toolCallId")
        if (id === undefined) return
        const call = tools.get(id)
        if (call === undefined) return void warnings.push(`${where}.toolCallId: "${id}" was not started (delta skipped)`)
        call.args += delta
        return
      }
      case "TOOL_CALL_END": {
        const id = need("toolCallId")
        if (id !== undefined && !tools.has(id)) warnings.push(`${where}.toolCallId: "${id}" was not started`)
        return
      }
      case "TOOL_CALL_CHUNK": {
        const id = str(event, "toolCallId") ?? lastChunkTool
        if (id === undefined) return void warnings.push(`${where}.toolCallId: missing on a first chunk (skipped)`)
        if (!tools.has(id)) {
          const name = str(event, "toolCallName")
          if (name === undefined) return void warnings.push(`${where}.toolCallName: missing on the first chunk of "${id}" (skipped)`)
          startTool(id, name)
        }
        lastChunkTool = id
        tools.get(id)!.args += delta
        return
      }
      case "TOOL_CALL_RESULT": {
        const id = need("toolCallId")
        if (id === undefined) return
        const call = tools.get(id)
        if (call === undefined) warnings.push(`${where}.toolCallId: "${id}" was not started (the result is shown under its id)`)
        const content = contentText(event.content, where, warnings)
        if (content === undefined) return void warnings.push(`${where}.content: missing (skipped)`)
        const title = `Result of ${call?.name ?? id}`
        slots.push({ render: () => ({ type: "callout", title, data: { content, style: "info" } }) })
        return
      }
      case "STATE_SNAPSHOT": {
        if (state === undefined) {
          const holder: { value: unknown } = { value: event.snapshot }
          state = holder
          slots.push({
            render: () => ({
              type: "collapsible",
              title: "State",
              data: { open: false, blocks: [{ type: "code", data: { content: JSON.stringify(holder.value ?? null, null, 2), language: "json" } }] }
            })
          })
        } else state.value = event.snapshot
        return
      }
      case "REASONING_ENCRYPTED_VALUE":
        return void warnings.push(`${where}: encrypted reasoning cannot be shown (skipped)`)
      case "STATE_DELTA":
      case "MESSAGES_SNAPSHOT":
      case "ACTIVITY_SNAPSHOT":
      case "ACTIVITY_DELTA":
      case "SUBAGENT_STARTED":
      case "SUBAGENT_FINISHED":
      case "SUBAGENT_ERROR":
      case "RAW":
      case "CUSTOM":
        return void warnings.push(`${where}: ${type} has no block on a page (skipped)`)
      default:
        break
    }

    if (reasoningTypes.has(type)) {
      if (type === "REASONING_END" || type === "THINKING_END") return void (currentReasoning = undefined)
      if (type === "REASONING_START" || type === "REASONING_MESSAGE_START") {
        currentReasoning = str(event, "messageId") ?? `thinking-${++thinkingCount}`
        startReasoning(currentReasoning)
        return
      }
      if (type === "THINKING_START" || type === "THINKING_TEXT_MESSAGE_START") {
        if (currentReasoning === undefined || type === "THINKING_START") currentReasoning = `thinking-${++thinkingCount}`
        startReasoning(currentReasoning)
        return
      }
      if (type === "REASONING_MESSAGE_END" || type === "THINKING_TEXT_MESSAGE_END") return
      // Content or chunk: the named message, or the current one.
      const id = str(event, "messageId") ?? currentReasoning
      if (id === undefined) return void warnings.push(`${where}.messageId: no reasoning message was started (delta skipped)`)
      if (!reasonings.has(id) && type === "REASONING_MESSAGE_CONTENT") {
        return void warnings.push(`${where}.messageId: "${id}" was not started (delta skipped)`)
      }
      currentReasoning = id
      startReasoning(id).content += delta
      return
    }
    warnings.push(`${where}.type: unknown AG-UI event "${type}" (skipped)`)
  })

  const blocks = slots.flatMap((slot) => {
    const block = slot.render()
    return block === undefined ? [] : [block]
  })
  return { blocks, warnings, metadata }
}
