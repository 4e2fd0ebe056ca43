/**
 * Block checks, pure: what an agent sends as blocks becomes stored blocks (ids kept or
 * assigned, `data` always an object) plus advisory warnings in Surflet's wording. Only what
 * cannot be a block at all (not an object, no string `type`, a duplicate id, too many or too
 * large) refuses the request, naming the field (`blocks[3].type`); a data shape the viewer
 * does not expect publishes anyway with a warning that says how to fix it, as Surflet's does.
 *
 * The page-level checks of a publish (`notify.channels[i].type`, unique `action_id`s, the
 * approval chain's step ids and quorums) live here too, so every way in to `Pages.publish`
 * (the routes, A2UI, templates, workflows) refuses the same things.
 */
import { randomBytes } from "node:crypto"
import { blockTypes } from "./Domain.ts"
import type { ApprovalChain, StoredBlock } from "./Domain.ts"

/** At most this many blocks on a page (nested ones included). */
export const maxBlocks = 500
/** A block's JSON may be at most this many bytes. */
export const maxBlockBytes = 256 * 1024

/** Why a request is refused: the field (`blocks[2].id`) and the constraint it breaks. */
export interface BlockProblem {
  readonly _tag: "Invalid"
  readonly field: string
  readonly constraint: string
}

export interface Checked {
  readonly _tag: "Checked"
  readonly blocks: ReadonlyArray<StoredBlock>
  readonly warnings: ReadonlyArray<string>
}

type Json = Record<string, unknown>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** `b_<index>_<8 hex>`: an assigned block id. */
export const newBlockId = (index: number): string => `b_${index}_${randomBytes(4).toString("hex")}`

/** Aliases worth a "use X not Y" warning, by block type (`*`: every type with `content`). */
const aliases: ReadonlyArray<readonly [from: string, to: string]> = [
  ["message", "content"],
  ["text", "content"],
  ["body", "content"],
  ["markdown", "content"]
]
const contentTypes: ReadonlySet<string> = new Set(["text", "callout", "code", "collapsible"])

const expected: Record<string, string> = {
  text: "{ content: string (markdown) }",
  key_value: "{ pairs: [{ key, value }] }",
  metric: "{ items: [{ label, value }] }",
  table: "{ columns: string[] | [{ key, label }], rows: [] }",
  chart: "{ chart_type: line|bar|pie|area, data: { labels: [], datasets: [{ label, data: number[] }] } }",
  callout: "{ content: string, style: info|success|warning|error }",
  code: "{ content: string, language? }",
  image: "{ src: http(s) or data:image URL, alt?, caption? }",
  stepper: "{ steps: [{ label, status: pending|active|completed|error }] }",
  columns: "{ columns: [{ weight?, blocks: [Block] }] }",
  collapsible: "{ content?: string, blocks?: [Block], open?: boolean }",
  form: "{ fields: [{ name, label, type: text|textarea|number|select|checkbox|date|email }] }"
}

const fieldTypes: ReadonlySet<string> = new Set(["text", "textarea", "number", "select", "checkbox", "date", "email"])
const trends: ReadonlySet<string> = new Set(["up", "down", "flat"])
const stepStatuses: ReadonlySet<string> = new Set(["pending", "active", "completed", "error"])
const chartTypes: ReadonlySet<string> = new Set(["line", "bar", "pie", "area"])
const calloutStyles: ReadonlySet<string> = new Set(["info", "success", "warning", "error"])

/**
 * The data warnings of one block (nested blocks are checked by `check`): what the viewer would
 * not render as meant, and how to fix it.
 */
export const dataWarnings = (id: string, type: string, data: Json): ReadonlyArray<string> => {
  const out: Array<string> = []
  const prefix = `Block '${id}' (${type}):`
  const missing = (path: string) => out.push(`${prefix} data.${path} is missing. Expected: ${expected[type] ?? "see the block table"}`)
  const wrong = (path: string, what: string) => out.push(`${prefix} data.${path} ${what}. Expected: ${expected[type] ?? "see the block table"}`)
  if (contentTypes.has(type) && data.content === undefined) {
    for (const [from, to] of aliases) {
      if (data[from] !== undefined && (from !== "text" || type === "text" || type === "callout")) {
        out.push(`${prefix} use '${to}' not '${from}'. Fix: rename data.${from} → data.${to}`)
        return out
      }
    }
  }
  const arrayOf = (key: string, check: (item: unknown, i: number) => void) => {
    const value = data[key]
    if (value === undefined) missing(key)
    else if (!Array.isArray(value)) wrong(key, "is not an array")
    else value.forEach(check)
  }
  const str = (u: unknown) => typeof u === "string"
  switch (type) {
    case "text":
      if (data.content === undefined) missing("content")
      else if (!str(data.content)) wrong("content", "is not a string")
      break
    case "code":
      if (data.content === undefined) missing("content")
      else if (!str(data.content)) wrong("content", "is not a string")
      if (data.language !== undefined && !str(data.language)) wrong("language", "is not a string")
      break
    case "callout":
      if (data.content === undefined) missing("content")
      else if (!str(data.content)) wrong("content", "is not a string")
      if (data.style !== undefined && !(str(data.style) && calloutStyles.has(data.style as string))) {
        wrong("style", `is ${JSON.stringify(data.style)}, not one of info, success, warning, error`)
      }
      break
    case "key_value":
      arrayOf("pairs", (pair, i) => {
        if (!isObject(pair) || pair.key === undefined || pair.value === undefined) wrong(`pairs[${i}]`, "needs key and value")
      })
      break
    case "metric":
      arrayOf("items", (item, i) => {
        if (!isObject(item) || item.label === undefined || item.value === undefined) wrong(`items[${i}]`, "needs label and value")
        else if (item.trend !== undefined && !(str(item.trend) && trends.has(item.trend as string))) {
          wrong(`items[${i}].trend`, `is ${JSON.stringify(item.trend)}, not one of up, down, flat`)
        }
      })
      break
    case "table": {
      arrayOf("columns", (column, i) => {
        if (!str(column) && !(isObject(column) && str(column.key))) wrong(`columns[${i}]`, "is neither a string nor { key, label }")
      })
      arrayOf("rows", (row, i) => {
        if (!Array.isArray(row) && !isObject(row)) wrong(`rows[${i}]`, "is neither an array nor an object")
      })
      break
    }
    case "chart": {
      if (data.chart_type === undefined) missing("chart_type")
      else if (!(str(data.chart_type) && chartTypes.has(data.chart_type as string))) {
        wrong("chart_type", `is ${JSON.stringify(data.chart_type)}, not one of line, bar, pie, area`)
      }
      const chart = data.data
      if (chart === undefined) missing("data")
      else if (!isObject(chart)) wrong("data", "is not an object")
      else {
        if (!Array.isArray(chart.labels)) wrong("data.labels", "is not an array")
        if (!Array.isArray(chart.datasets)) wrong("data.datasets", "is not an array")
        else {
          chart.datasets.forEach((set: unknown, i: number) => {
            if (!isObject(set) || !Array.isArray(set.data) || !set.data.every((n: unknown) => typeof n === "number")) {
              wrong(`data.datasets[${i}].data`, "is not an array of numbers")
            }
          })
        }
      }
      break
    }
    case "image":
      if (data.src === undefined) missing("src")
      else if (!(str(data.src) && /^(https?:\/\/|data:image\/)/i.test(data.src as string))) {
        wrong("src", "is not an http(s) or data:image URL (the viewer will not load it)")
      }
      break
    case "stepper":
      arrayOf("steps", (step, i) => {
        if (!isObject(step) || !str(step.label)) wrong(`steps[${i}].label`, "is missing")
        else if (step.status !== undefined && !(str(step.status) && stepStatuses.has(step.status as string))) {
          wrong(`steps[${i}].status`, `is ${JSON.stringify(step.status)}, not one of pending, active, completed, error`)
        }
      })
      break
    case "columns":
      arrayOf("columns", (column, i) => {
        if (!isObject(column) || !Array.isArray(column.blocks)) wrong(`columns[${i}].blocks`, "is not an array")
      })
      break
    case "collapsible":
      if (data.content === undefined && data.blocks === undefined) missing("content")
      if (data.content !== undefined && !str(data.content)) wrong("content", "is not a string")
      if (data.blocks !== undefined && !Array.isArray(data.blocks)) wrong("blocks", "is not an array")
      if (data.open !== undefined && typeof data.open !== "boolean") wrong("open", "is not a boolean")
      break
    case "form":
      arrayOf("fields", (field, i) => {
        if (!isObject(field) || !str(field.name) || field.name === "") wrong(`fields[${i}].name`, "is missing")
        else if (field.type !== undefined && !(str(field.type) && fieldTypes.has(field.type as string))) {
          wrong(`fields[${i}].type`, `is ${JSON.stringify(field.type)}, not one of text, textarea, number, select, checkbox, date, email`)
        }
      })
      break
    case "file_list":
      if (data.allow_upload !== undefined && typeof data.allow_upload !== "boolean") {
        out.push(`${prefix} data.allow_upload is not a boolean. Expected: { allow_upload?: boolean }`)
      }
      break
    case "divider":
      break
    default:
      out.push(`${prefix} unknown block type '${type}': it is shown as data. Known types: ${blockTypes.join(", ")}`)
  }
  return out
}

/** Every id of `blocks`, nested ones included. */
export const idsOf = (blocks: ReadonlyArray<StoredBlock>): Array<string> => {
  const out: Array<string> = []
  const walk = (list: ReadonlyArray<unknown>) => {
    for (const block of list) {
      if (!isObject(block)) continue
      if (typeof block.id === "string") out.push(block.id)
      const data = isObject(block.data) ? block.data : {}
      if (Array.isArray(data.blocks)) walk(data.blocks)
      if (Array.isArray(data.columns)) {
        for (const column of data.columns) if (isObject(column) && Array.isArray(column.blocks)) walk(column.blocks)
      }
    }
  }
  walk(blocks)
  return out
}

/** A block by id, nested ones included. */
export const findBlock = (blocks: ReadonlyArray<StoredBlock>, blockId: string): StoredBlock | undefined => {
  for (const block of blocks) {
    if (block.id === blockId) return block
    const data = block.data
    const nested: Array<StoredBlock> = []
    if (Array.isArray(data.blocks)) nested.push(...data.blocks as Array<StoredBlock>)
    if (Array.isArray(data.columns)) {
      for (const column of data.columns) if (isObject(column) && Array.isArray(column.blocks)) nested.push(...column.blocks as Array<StoredBlock>)
    }
    const found = findBlock(nested.filter(isObject) as Array<StoredBlock>, blockId)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * Normalises and checks `input` (blocks as sent), at `path` (`blocks`), given the ids already
 * on the page (`taken`, for appends and inserts; updated with the new ids). `startIndex` is the
 * index of the first block on the page (assigned ids carry it).
 */
export const check = (
  input: ReadonlyArray<unknown>,
  options: { readonly path?: string; readonly taken?: Set<string>; readonly startIndex?: number; readonly existingCount?: number } = {}
): BlockProblem | Checked => {
  const path = options.path ?? "blocks"
  const taken = options.taken ?? new Set<string>()
  const warnings: Array<string> = []
  let count = options.existingCount ?? 0
  const walk = (list: ReadonlyArray<unknown>, at: string, start: number): BlockProblem | Array<StoredBlock> => {
    const out: Array<StoredBlock> = []
    for (let i = 0; i < list.length; i++) {
      const field = `${at}[${i}]`
      const raw = list[i]
      count += 1
      if (count > maxBlocks) return { _tag: "Invalid", field: at, constraint: `at most ${maxBlocks} blocks on a page` }
      if (!isObject(raw) || typeof raw.type !== "string" || raw.type === "") {
        return { _tag: "Invalid", field: `${field}.type`, constraint: "a block is an object with a string type" }
      }
      if (raw.id !== undefined && (typeof raw.id !== "string" || raw.id === "" || raw.id.length > 200)) {
        return { _tag: "Invalid", field: `${field}.id`, constraint: "a block id is a string of 1 to 200 characters" }
      }
      if (raw.data !== undefined && raw.data !== null && !isObject(raw.data)) {
        return { _tag: "Invalid", field: `${field}.data`, constraint: "a block's data is an object" }
      }
      for (const key of ["title", "group", "tab"] as const) {
        if (raw[key] !== undefined && raw[key] !== null && typeof raw[key] !== "string") {
          return { _tag: "Invalid", field: `${field}.${key}`, constraint: "a string" }
        }
      }
      let bytes: number
      try {
        bytes = Buffer.byteLength(JSON.stringify(raw), "utf8")
      } catch {
        return { _tag: "Invalid", field, constraint: "a block is JSON" }
      }
      if (bytes > maxBlockBytes) return { _tag: "Invalid", field, constraint: `a block's JSON is at most ${maxBlockBytes} bytes` }
      let id: string
      if (typeof raw.id === "string") {
        if (taken.has(raw.id)) return { _tag: "Invalid", field: `${field}.id`, constraint: `block id '${raw.id}' is already on the page` }
        id = raw.id
      } else {
        do id = newBlockId(start + i)
        while (taken.has(id))
      }
      taken.add(id)
      const type = raw.type
      const data: Json = isObject(raw.data) ? { ...raw.data } : {}
      warnings.push(...dataWarnings(id, type, data))
      // Nested blocks get ids and checks too.
      if (type === "collapsible" && Array.isArray(data.blocks)) {
        const nested = walk(data.blocks, `${field}.data.blocks`, 0)
        if (!Array.isArray(nested)) return nested
        data.blocks = nested
      }
      if (type === "columns" && Array.isArray(data.columns)) {
        const columns: Array<unknown> = []
        for (let c = 0; c < data.columns.length; c++) {
          const column: unknown = data.columns[c]
          if (isObject(column) && Array.isArray(column.blocks)) {
            const nested = walk(column.blocks, `${field}.data.columns[${c}].blocks`, 0)
            if (!Array.isArray(nested)) return nested
            columns.push({ ...column, blocks: nested })
          } else columns.push(column)
        }
        data.columns = columns
      }
      const block: { -readonly [K in keyof StoredBlock]: StoredBlock[K] } = { id, type, data }
      if (raw.title !== undefined) block.title = raw.title as string | null
      if (raw.group !== undefined) block.group = raw.group as string | null
      if (raw.tab !== undefined) block.tab = raw.tab as string | null
      out.push(block)
    }
    return out
  }
  const blocks = walk(input, path, options.startIndex ?? 0)
  return Array.isArray(blocks) ? { _tag: "Checked", blocks, warnings } : blocks
}

/** The page-level parts of a publish other parts act on, checked up front (field named on failure). */
export interface PageParts {
  readonly notify?: { readonly channels: ReadonlyArray<{ readonly type: string }> } | undefined
  readonly actions?: ReadonlyArray<{ readonly action_id: string }> | undefined
  readonly approval_chain?: ApprovalChain | undefined
}

export const checkParts = (input: PageParts): BlockProblem | undefined => {
  const channels = input.notify?.channels ?? []
  for (let i = 0; i < channels.length; i++) {
    if (channels[i]!.type !== "email" && channels[i]!.type !== "slack") {
      return { _tag: "Invalid", field: `notify.channels[${i}].type`, constraint: "one of email, slack" }
    }
  }
  const actionIds = new Set<string>()
  const actions = input.actions ?? []
  for (let i = 0; i < actions.length; i++) {
    const id = actions[i]!.action_id
    if (id === "") return { _tag: "Invalid", field: `actions[${i}].action_id`, constraint: "not empty" }
    if (actionIds.has(id)) return { _tag: "Invalid", field: `actions[${i}].action_id`, constraint: `action_id '${id}' is used twice` }
    actionIds.add(id)
  }
  const steps = input.approval_chain?.steps ?? []
  if (input.approval_chain !== undefined && steps.length === 0) {
    return { _tag: "Invalid", field: "approval_chain.steps", constraint: "at least one step" }
  }
  const stepIds = new Set<string>()
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!
    if (step.step_id === "") return { _tag: "Invalid", field: `approval_chain.steps[${i}].step_id`, constraint: "not empty" }
    if (stepIds.has(step.step_id)) {
      return { _tag: "Invalid", field: `approval_chain.steps[${i}].step_id`, constraint: `step_id '${step.step_id}' is used twice` }
    }
    stepIds.add(step.step_id)
    if (step.assignees.length === 0) return { _tag: "Invalid", field: `approval_chain.steps[${i}].assignees`, constraint: "at least one assignee" }
    const quorum = step.quorum ?? 1
    if (quorum < 1 || quorum > step.assignees.length) {
      return { _tag: "Invalid", field: `approval_chain.steps[${i}].quorum`, constraint: `between 1 and ${step.assignees.length} (the number of assignees)` }
    }
    if (step.timeout_minutes !== undefined && !(step.timeout_minutes > 0)) {
      return { _tag: "Invalid", field: `approval_chain.steps[${i}].timeout_minutes`, constraint: "greater than 0" }
    }
  }
  return undefined
}
