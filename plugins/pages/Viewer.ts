/**
 * The viewer's HTML, rendered on the server from what the routes gathered (page, approval
 * chain, comments, files, viewer): pure functions, so a page renders the same in a test, a
 * benchmark and the route. Every value an agent or a person wrote is escaped by `html` or goes
 * through `Markdown.render`; nothing here writes an inline script or style (the page's
 * Content-Security-Policy allows neither): the live-update script is `viewer.js`, told the page
 * id by a data attribute.
 *
 * Forms work without JavaScript: each carries the hidden CSRF field `csrf` (see
 * `ViewerRoutes.ts`) and posts back to `/p/:id/...`, which answers 303 to the page.
 */
import { Html } from "trellis/plugin"
import type { Comment } from "./CommentsService.ts"
import type { ApprovalView } from "./DecisionsService.ts"
import type { PageFile } from "./FilesService.ts"
import type { InboxEntry } from "./InboxService.ts"
import type { Action, PageRecord, StoredBlock } from "./Domain.ts"
import * as Markdown from "./Markdown.ts"
import type { Viewer } from "./Viewers.ts"

const { html } = Html
type Markup = Html.Html

export const cssPath = "/p/assets/viewer.css"
export const jsPath = "/p/assets/viewer.js"

export type CommentView = Comment
/** A file with its download link. */
export interface FileView extends PageFile {
  readonly href: string
}
export interface InboxView {
  readonly email: string
  readonly entries: ReadonlyArray<InboxEntry>
  readonly total: number
}

/** Everything a page's render needs. */
export interface PageModel {
  readonly page: PageRecord
  readonly viewer: Viewer
  /** `null` when the decisions part is not installed. */
  readonly approval: ApprovalView | null
  readonly canDecide: boolean
  readonly comments: ReadonlyArray<CommentView>
  readonly files: ReadonlyArray<FileView>
  /** Whether uploads are possible (the files part is installed). */
  readonly uploads: boolean
  /** Whether comments are possible (the comments part is installed). */
  readonly commenting: boolean
  /** The hidden field of every form. */
  readonly csrf: string
  /** A one-line message after a form (`?notice=`): only the viewer's own fixed texts. */
  readonly notice: string | null
  /** An error after a form (`?error=`): only the viewer's own fixed texts. */
  readonly error: string | null
}

// ---------------------------------------------------------------------------------------------
// Helpers

const str = (value: unknown): string | null =>
  typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : null

const text = (value: unknown): string => {
  const s = str(value)
  if (s !== null) return s
  if (value === null || value === undefined) return ""
  return JSON.stringify(value)
}

const arr = (value: unknown): ReadonlyArray<unknown> => Array.isArray(value) ? value : []

const obj = (value: unknown): Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {}

const num = (value: unknown): number | null => {
  if (typeof value === "number" && Number.isFinite(value)) return value
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value)
  return null
}

/** A token safe in a class name or an id (block ids are agent-chosen). */
const slug = (value: string): string => value.replace(/[^a-zA-Z0-9_-]/g, "-").slice(0, 80)

const fmtDate = (date: Date | string | null): string => {
  if (date === null) return ""
  const d = typeof date === "string" ? new Date(date) : date
  return Number.isNaN(d.getTime()) ? String(date) : d.toISOString().replace("T", " ").replace(/:\d\d\.\d{3}Z$/, " UTC")
}

const shell = (title: string, body: Markup, options?: { readonly pageId?: string | undefined }): Markup =>
  html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${cssPath}">
${options?.pageId === undefined ? "" : html`<script src="${jsPath}" defer></script>`}
</head>
<body${options?.pageId === undefined ? "" : html` data-page-id="${options.pageId}"`}>
<a class="skip" href="#content">Skip to content</a>
${body}
</body>
</html>`

// ---------------------------------------------------------------------------------------------
// Blocks

const blockTitle = (block: StoredBlock): string | null => {
  const t = block.title ?? str(block.data["title"])
  return t === null || t === "" ? null : t
}

const heading = (block: StoredBlock): Markup => {
  const t = blockTitle(block)
  return t === null ? html`` : html`<h2 class="block-title">${t}</h2>`
}

const textBlock = (block: StoredBlock): Markup =>
  html`${heading(block)}<div class="md">${Markdown.render(text(block.data["content"] ?? block.data["text"] ?? block.data["markdown"]))}</div>`

const keyValueBlock = (block: StoredBlock): Markup => {
  const pairs = arr(block.data["pairs"] ?? block.data["items"]).map(obj)
  return html`${heading(block)}<dl class="kv">${
    pairs.map((p) => html`<div><dt>${text(p["key"] ?? p["label"])}</dt><dd>${text(p["value"])}</dd></div>`)
  }</dl>`
}

const trendOf = (item: Readonly<Record<string, unknown>>): { readonly arrow: string; readonly word: string; readonly cls: string } | null => {
  const raw = str(item["trend"])?.toLowerCase() ?? null
  const change = num(item["change"])
  const dir = raw === "up" || raw === "down" || raw === "flat" ? raw : change === null ? null : change > 0 ? "up" : change < 0 ? "down" : "flat"
  if (dir === null) return null
  return dir === "up" ? { arrow: "▲", word: "up", cls: "up" } : dir === "down" ? { arrow: "▼", word: "down", cls: "down" } : { arrow: "▬", word: "flat", cls: "flat" }
}

const metricBlock = (block: StoredBlock): Markup => {
  const items = block.data["items"] !== undefined ? arr(block.data["items"]).map(obj) : [block.data]
  return html`${heading(block)}<div class="metrics">${
    items.map((item) => {
      const trend = trendOf(item)
      const change = str(item["change"])
      return html`<div class="metric"><div class="metric-label">${text(item["label"])}</div><div class="metric-value">${
        text(item["value"])
      }${str(item["unit"]) === null ? "" : html` <span class="unit">${text(item["unit"])}</span>`}</div>${
        trend === null
          ? ""
          : html`<div class="trend ${trend.cls}"><span aria-hidden="true">${trend.arrow}</span> <span class="sr-only">Trend: ${trend.word}</span>${
            change === null ? "" : html` ${change}`
          }</div>`
      }</div>`
    })
  }</div>`
}

interface TableShape {
  readonly headers: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
}

const tableShape = (data: Readonly<Record<string, unknown>>): TableShape => {
  const columns = arr(data["columns"] ?? data["headers"])
  const keys = columns.map((c) => typeof c === "string" ? c : text(obj(c)["key"] ?? obj(c)["label"]))
  const labels = columns.map((c) => typeof c === "string" ? c : text(obj(c)["label"] ?? obj(c)["key"]))
  const rowsIn = arr(data["rows"])
  const objectKeys = keys.length > 0 ? keys : rowsIn.length > 0 && !Array.isArray(rowsIn[0]) ? Object.keys(obj(rowsIn[0])) : []
  const headers = labels.length > 0 ? labels : objectKeys
  const rows = rowsIn.map((row) => Array.isArray(row) ? row.map(text) : objectKeys.map((k) => text(obj(row)[k])))
  return { headers, rows }
}

const tableMarkup = (shape: TableShape, caption: string | null, cls = "table"): Markup =>
  html`<div class="table-wrap" tabindex="0" role="region" aria-label="${caption ?? "Table"}"><table class="${cls}">${
    caption === null ? "" : html`<caption>${caption}</caption>`
  }${
    shape.headers.length === 0 ? "" : html`<thead><tr>${shape.headers.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>`
  }<tbody>${shape.rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody></table></div>`

const tableBlock = (block: StoredBlock): Markup => html`${heading(block)}${tableMarkup(tableShape(block.data), null)}`

// Charts: inline SVG drawn here (no script), hidden from screen readers, which get the table.

const palette = ["#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#be185d"]

interface Series {
  readonly label: string
  readonly values: ReadonlyArray<number>
}

const chartData = (data: Readonly<Record<string, unknown>>): { readonly labels: ReadonlyArray<string>; readonly series: ReadonlyArray<Series> } => {
  const inner = obj(data["data"])
  const labels = arr(inner["labels"] ?? data["labels"]).map(text)
  const datasets = arr(inner["datasets"] ?? data["datasets"]).map(obj)
  const series = datasets.length > 0
    ? datasets.map((d, i) => ({ label: text(d["label"] ?? `Series ${i + 1}`), values: arr(d["data"]).map((v) => num(v) ?? 0) }))
    : arr(inner["values"] ?? data["values"]).length > 0
    ? [{ label: "Value", values: arr(inner["values"] ?? data["values"]).map((v) => num(v) ?? 0) }]
    : []
  return { labels, series }
}

const f = (n: number): string => (Math.round(n * 10) / 10).toString()

const chartSvg = (kind: string, labels: ReadonlyArray<string>, series: ReadonlyArray<Series>): Markup => {
  const w = 320
  const h = 180
  const pad = 24
  const count = Math.max(labels.length, ...series.map((s) => s.values.length), 1)
  if (kind === "pie" || kind === "doughnut") {
    const values = (series[0]?.values ?? []).map((v) => Math.max(0, v))
    const total = values.reduce((a, b) => a + b, 0)
    const cx = h / 2
    const cy = h / 2
    const r = h / 2 - 8
    let angle = -Math.PI / 2
    const slices = values.map((v, i) => {
      const share = total === 0 ? 0 : v / total
      const start = angle
      angle += share * 2 * Math.PI
      const color = palette[i % palette.length]!
      if (share >= 0.9999) return html`<circle cx="${f(cx)}" cy="${f(cy)}" r="${f(r)}" fill="${color}"></circle>`
      const large = share > 0.5 ? 1 : 0
      const x1 = cx + r * Math.cos(start)
      const y1 = cy + r * Math.sin(start)
      const x2 = cx + r * Math.cos(angle)
      const y2 = cy + r * Math.sin(angle)
      return share === 0 ? "" : html`<path d="M${f(cx)},${f(cy)} L${f(x1)},${f(y1)} A${f(r)},${f(r)} 0 ${large} 1 ${f(x2)},${f(y2)} Z" fill="${color}"></path>`
    })
    const legend = values.map((_, i) =>
      html`<g transform="translate(${h + 8},${14 + i * 18})"><rect width="10" height="10" fill="${palette[i % palette.length]!}"></rect><text x="14" y="9">${
        (labels[i] ?? "").slice(0, 18)
      }</text></g>`
    )
    return html`<svg class="chart" viewBox="0 0 ${w} ${h}" aria-hidden="true" focusable="false">${slices}${legend}</svg>`
  }
  const all = series.flatMap((s) => s.values)
  const max = Math.max(0, ...all)
  const min = Math.min(0, ...all)
  const span = max - min === 0 ? 1 : max - min
  const plotW = w - pad * 2
  const plotH = h - pad * 2
  const y = (v: number) => pad + plotH - ((v - min) / span) * plotH
  const zero = y(0)
  const axis = html`<line x1="${pad}" y1="${f(zero)}" x2="${w - pad}" y2="${f(zero)}" class="axis"></line><text x="2" y="${pad}" class="tick">${
    f(max)
  }</text><text x="2" y="${h - pad}" class="tick">${f(min)}</text>`
  const xLabels = labels.map((l, i) =>
    html`<text x="${f(pad + (i + 0.5) * (plotW / count))}" y="${h - 6}" class="tick" text-anchor="middle">${l.slice(0, 8)}</text>`
  )
  if (kind === "line" || kind === "area") {
    const x = (i: number) => pad + (count === 1 ? plotW / 2 : (i * plotW) / (count - 1))
    const paths = series.map((s, si) => {
      const color = palette[si % palette.length]!
      const points = s.values.map((v, i) => `${f(x(i))},${f(y(v))}`)
      if (points.length === 0) return ""
      const area = kind === "area"
        ? html`<path d="M${f(x(0))},${f(zero)} L${points.join(" L")} L${f(x(s.values.length - 1))},${f(zero)} Z" fill="${color}" fill-opacity="0.25"></path>`
        : ""
      return html`${area}<polyline points="${points.join(" ")}" fill="none" stroke="${color}" stroke-width="2"></polyline>`
    })
    const lineLabels = labels.map((l, i) => html`<text x="${f(x(i))}" y="${h - 6}" class="tick" text-anchor="middle">${l.slice(0, 8)}</text>`)
    return html`<svg class="chart" viewBox="0 0 ${w} ${h}" aria-hidden="true" focusable="false">${axis}${paths}${lineLabels}</svg>`
  }
  const groupW = plotW / count
  const barW = Math.max(1, (groupW * 0.8) / Math.max(series.length, 1))
  const bars = series.map((s, si) =>
    s.values.map((v, i) => {
      const top = Math.min(y(v), zero)
      return html`<rect x="${f(pad + i * groupW + groupW * 0.1 + si * barW)}" y="${f(top)}" width="${f(barW)}" height="${
        f(Math.abs(zero - y(v)))
      }" fill="${palette[si % palette.length]!}"></rect>`
    })
  )
  return html`<svg class="chart" viewBox="0 0 ${w} ${h}" aria-hidden="true" focusable="false">${axis}${bars}${xLabels}</svg>`
}

const chartBlock = (block: StoredBlock): Markup => {
  const kind = (str(block.data["chart_type"] ?? block.data["type"] ?? block.data["kind"]) ?? "bar").toLowerCase()
  const { labels, series } = chartData(block.data)
  const title = blockTitle(block)
  const count = Math.max(labels.length, ...series.map((s) => s.values.length), 0)
  const shape: TableShape = {
    headers: ["", ...series.map((s) => s.label)],
    rows: Array.from({ length: count }, (_, i) => [labels[i] ?? String(i + 1), ...series.map((s) => s.values[i] === undefined ? "" : String(s.values[i]))])
  }
  const legend = series.length > 1 && kind !== "pie" && kind !== "doughnut"
    ? html`<ul class="legend" aria-hidden="true">${
      series.map((s, i) => html`<li><span class="swatch sw${i % palette.length}"></span>${s.label}</li>`)
    }</ul>`
    : ""
  return html`${heading(block)}<figure class="chart-figure">${chartSvg(kind, labels, series)}${legend}<details class="chart-data"><summary>Data (${kind} chart)</summary>${
    tableMarkup(shape, title === null ? `${kind} chart data` : `${title}: data`)
  }</details></figure>`
}

const calloutStyles = new Set(["info", "success", "warning", "error", "danger", "tip", "note"])

const calloutBlock = (block: StoredBlock): Markup => {
  const raw = (str(block.data["style"] ?? block.data["variant"] ?? block.data["level"]) ?? "info").toLowerCase()
  const style = calloutStyles.has(raw) ? (raw === "danger" ? "error" : raw) : "info"
  const label = { info: "Note", success: "Success", warning: "Warning", error: "Error", tip: "Tip", note: "Note" }[style] ?? "Note"
  const title = blockTitle(block)
  return html`<div class="callout callout-${style}" role="note"><strong class="callout-label">${title ?? label}</strong><div class="md">${
    Markdown.render(text(block.data["content"] ?? block.data["message"] ?? block.data["text"]))
  }</div></div>`
}

const codeBlock = (block: StoredBlock): Markup => {
  const language = str(block.data["language"] ?? block.data["lang"])
  return html`${heading(block)}<div class="code">${
    language === null ? "" : html`<div class="code-lang">${language}</div>`
  }<pre tabindex="0"><code${language === null ? "" : html` class="language-${slug(language)}"`}>${text(block.data["code"] ?? block.data["content"])}</code></pre></div>`
}

const imageBlock = (block: StoredBlock): Markup => {
  const url = text(block.data["url"] ?? block.data["src"])
  const alt = text(block.data["alt"] ?? block.data["caption"] ?? blockTitle(block) ?? "")
  const caption = str(block.data["caption"])
  const body = Markdown.inlineImageAllowed(url)
    ? html`<img src="${url}" alt="${alt}" loading="lazy">`
    : Markdown.isHttpUrl(url)
    ? html`<a class="remote-image" href="${url}" rel="noopener noreferrer nofollow">Open image${alt === "" ? "" : html`: ${alt}`}</a>`
    : html`<p class="muted">Image not shown (unsupported address).</p>`
  return html`${heading(block)}<figure class="image">${body}${caption === null ? "" : html`<figcaption>${caption}</figcaption>`}</figure>`
}

const stepperBlock = (block: StoredBlock): Markup => {
  const steps = arr(block.data["steps"] ?? block.data["items"]).map((s) => typeof s === "string" ? { label: s } : obj(s))
  const current = num(block.data["current"] ?? block.data["current_step"])
  return html`${heading(block)}<ol class="stepper">${
    steps.map((s, i) => {
      const declared = str(s["status"])?.toLowerCase() ?? null
      const status = declared ?? (current === null ? "pending" : i < current ? "completed" : i === current ? "current" : "pending")
      return html`<li class="step step-${slug(status)}"${status === "current" || status === "in_progress" || status === "active" ? html` aria-current="step"` : ""}><span class="step-label">${
        text(s["label"] ?? s["title"] ?? s["name"])
      }</span> <span class="step-status">(${status.replace(/_/g, " ")})</span>${
        str(s["description"]) === null ? "" : html`<div class="step-desc">${text(s["description"])}</div>`
      }</li>`
    })
  }</ol>`
}

const asBlocks = (value: unknown, prefix: string): ReadonlyArray<StoredBlock> =>
  arr(value).map(obj).filter((b) => typeof b["type"] === "string").map((b, i) => ({
    id: str(b["id"]) ?? `${prefix}_${i}`,
    type: b["type"] as string,
    title: str(b["title"]),
    data: obj(b["data"])
  }))

const columnsBlock = (block: StoredBlock, ctx: BlockContext, depth: number): Markup => {
  const columns = arr(block.data["columns"] ?? block.data["children"])
  return html`${heading(block)}<div class="columns" data-count="${columns.length}">${
    columns.map((column, i) => {
      const blocks = Array.isArray(column) ? asBlocks(column, `${block.id}_${i}`) : asBlocks(obj(column)["blocks"], `${block.id}_${i}`)
      return html`<div class="column">${blocks.map((b) => renderBlock(b, ctx, depth + 1))}</div>`
    })
  }</div>`
}

const collapsibleBlock = (block: StoredBlock, ctx: BlockContext, depth: number): Markup => {
  const summary = text(block.data["summary"] ?? blockTitle(block) ?? block.data["label"] ?? "Details")
  const open = block.data["open"] === true || block.data["expanded"] === true
  const inner = block.data["blocks"] !== undefined
    ? asBlocks(block.data["blocks"], block.id).map((b) => renderBlock(b, ctx, depth + 1))
    : html`<div class="md">${Markdown.render(text(block.data["content"] ?? block.data["text"]))}</div>`
  return html`<details class="collapsible"${open ? " open" : ""}><summary>${summary}</summary><div class="collapsible-body">${inner}</div></details>`
}

/** The form fields' names are sent as `f:<name>`; the action route collects them into `form_data`. */
export const fieldPrefix = "f:"

const formBlock = (block: StoredBlock, ctx: BlockContext): Markup => {
  const fields = arr(block.data["fields"]).map(obj)
  const disabled = ctx.canDecide ? "" : " disabled"
  return html`<fieldset class="form-block"${disabled}><legend>${blockTitle(block) ?? "Your answer"}</legend>${
    fields.map((field, i) => {
      const name = text(field["name"] ?? field["id"] ?? `field_${i}`)
      const id = `fld-${slug(block.id)}-${i}`
      const label = text(field["label"] ?? name)
      const type = (str(field["type"]) ?? "text").toLowerCase()
      const required = field["required"] === true ? " required" : ""
      const value = text(field["default"] ?? field["value"] ?? "")
      const placeholder = str(field["placeholder"])
      const ph = placeholder === null ? "" : html` placeholder="${placeholder}"`
      const common = html` id="${id}" name="${fieldPrefix}${name}" form="decide"${required}`
      const help = str(field["help"] ?? field["description"])
      const control = type === "textarea"
        ? html`<textarea${common}${ph} rows="3">${value}</textarea>`
        : type === "select"
        ? html`<select${common}>${
          arr(field["options"]).map((o) => {
            const opt = typeof o === "object" && o !== null ? obj(o) : { value: o, label: o }
            const v = text(opt["value"] ?? opt["label"])
            return html`<option value="${v}"${v === value ? " selected" : ""}>${text(opt["label"] ?? v)}</option>`
          })
        }</select>`
        : type === "checkbox" || type === "boolean"
        ? html`<input type="checkbox" value="true"${common}${field["default"] === true ? " checked" : ""}>`
        : html`<input type="${
          ["number", "email", "date", "url", "tel", "time", "datetime-local"].includes(type) ? type : "text"
        }" value="${value}"${common}${ph}>`
      return html`<div class="field${type === "checkbox" || type === "boolean" ? " field-check" : ""}"><label for="${id}">${label}${
        required === "" ? "" : html` <span aria-hidden="true">*</span>`
      }</label>${control}${help === null ? "" : html`<div class="help">${help}</div>`}</div>`
    })
  }</fieldset>`
}

const fileListBlock = (block: StoredBlock, ctx: BlockContext): Markup =>
  html`${heading(block) ?? ""}${filesMarkup(ctx)}`

const unknownBlock = (block: StoredBlock): Markup =>
  html`${heading(block)}<div class="unknown"><div class="code-lang">${block.type}</div><pre tabindex="0"><code>${
    JSON.stringify(block.data, null, 2)
  }</code></pre></div>`

interface BlockContext {
  readonly pageId: string
  readonly canDecide: boolean
  readonly files: ReadonlyArray<FileView>
  readonly uploads: boolean
  readonly mayUpload: boolean
  readonly csrf: string
  readonly commentCounts: ReadonlyMap<string, number>
}

const maxDepth = 4

const renderBlock = (block: StoredBlock, ctx: BlockContext, depth = 0): Markup => {
  if (depth > maxDepth) return unknownBlock(block)
  const body = (() => {
    switch (block.type) {
      case "text":
        return textBlock(block)
      case "key_value":
        return keyValueBlock(block)
      case "metric":
        return metricBlock(block)
      case "table":
        return tableBlock(block)
      case "chart":
        return chartBlock(block)
      case "callout":
        return calloutBlock(block)
      case "code":
        return codeBlock(block)
      case "image":
        return imageBlock(block)
      case "stepper":
        return stepperBlock(block)
      case "columns":
      case "layout":
        return columnsBlock(block, ctx, depth)
      case "collapsible":
        return collapsibleBlock(block, ctx, depth)
      case "form":
        return formBlock(block, ctx)
      case "file_list":
        return fileListBlock(block, ctx)
      case "divider":
        return html`<hr>`
      default:
        return unknownBlock(block)
    }
  })()
  const comments = ctx.commentCounts.get(block.id) ?? 0
  return html`<section class="block block-${slug(block.type)}" id="block-${slug(block.id)}" data-block-id="${block.id}" data-block-type="${block.type}">${body}${
    comments === 0 || depth > 0 ? "" : html`<a class="block-comments" href="#comments">${comments} comment${comments === 1 ? "" : "s"}</a>`
  }</section>`
}

/** Blocks in order, with consecutive blocks of one `group` in a section and `tab`s as `<details>` (no script needed). */
const renderBlocks = (blocks: ReadonlyArray<StoredBlock>, ctx: BlockContext): Markup => {
  const out: Array<Markup> = []
  let i = 0
  while (i < blocks.length) {
    const block = blocks[i]!
    const group = block.group ?? null
    if (group === null || group === "") {
      if (block.tab !== null && block.tab !== undefined && block.tab !== "") {
        const tab = block.tab
        const run: Array<StoredBlock> = []
        while (i < blocks.length && blocks[i]!.tab === tab && (blocks[i]!.group ?? null) === null) run.push(blocks[i++]!)
        out.push(tabMarkup(tab, run, ctx, out.length === 0))
        continue
      }
      out.push(renderBlock(block, ctx))
      i++
      continue
    }
    const members: Array<StoredBlock> = []
    while (i < blocks.length && blocks[i]!.group === group) members.push(blocks[i++]!)
    const tabs: Array<string> = []
    for (const m of members) if (m.tab !== null && m.tab !== undefined && m.tab !== "" && !tabs.includes(m.tab)) tabs.push(m.tab)
    const untabbed = members.filter((m) => m.tab === null || m.tab === undefined || m.tab === "")
    out.push(html`<section class="group" aria-label="${group}"><h2 class="group-title">${group}</h2>${untabbed.map((m) => renderBlock(m, ctx))}${
      tabs.length === 0 ? "" : html`<div class="tabs">${
        tabs.map((tab, ti) => tabMarkup(tab, members.filter((m) => m.tab === tab), ctx, ti === 0))
      }</div>`
    }</section>`)
  }
  return html`${out}`
}

const tabMarkup = (tab: string, blocks: ReadonlyArray<StoredBlock>, ctx: BlockContext, open: boolean): Markup =>
  html`<details class="tab"${open ? " open" : ""}><summary>${tab}</summary><div class="tab-body">${blocks.map((b) => renderBlock(b, ctx))}</div></details>`

// ---------------------------------------------------------------------------------------------
// Page parts

const csrfField = (csrf: string): Markup => html`<input type="hidden" name="csrf" value="${csrf}">`

const filesMarkup = (ctx: BlockContext): Markup =>
  html`<div class="files">${
    ctx.files.length === 0
      ? html`<p class="muted">No files yet.</p>`
      : html`<ul class="file-list">${
        ctx.files.map((file) =>
          html`<li><a href="${file.href}" download>${file.filename}</a> <span class="muted">(${file.mimeType}, ${sizeOf(file.sizeBytes)}, ${file.uploadedBy})</span></li>`
        )
      }</ul>`
  }${
    ctx.uploads && ctx.mayUpload
      ? html`<form class="upload" method="post" action="/p/${ctx.pageId}/files" enctype="multipart/form-data">${
        csrfField(ctx.csrf)
      }<label for="upload-file-${slug(ctx.pageId)}">Attach a file</label><input type="file" id="upload-file-${slug(ctx.pageId)}" name="file" required><button type="submit">Upload</button></form>`
      : ""
  }</div>`

const sizeOf = (bytes: number): string =>
  bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`

const statusLabel: Record<string, string> = {
  draft: "Draft",
  active: "Open",
  completed: "Completed",
  revoked: "Revoked",
  expired: "Expired"
}

const header = (page: PageRecord): Markup =>
  html`<header class="page-header"><p class="eyebrow">${page.pageType.replace(/_/g, " ")}</p><h1>${page.title}</h1>${
    page.summary === null || page.summary === "" ? "" : html`<p class="summary">${page.summary}</p>`
  }<ul class="meta" aria-label="About this page"><li class="badge status-${slug(page.status)}">${statusLabel[page.status] ?? page.status}</li><li class="badge priority-${
    slug(page.priority)
  }">Priority: ${page.priority}</li>${page.tags.map((t) => html`<li class="tag">#${t}</li>`)}${
    page.expiresAt === null || page.status !== "active" ? "" : html`<li class="muted">Expires ${fmtDate(page.expiresAt)}</li>`
  }</ul></header>`

const stepStatusText: Record<string, string> = {
  waiting: "Waiting",
  pending: "Waiting for a decision",
  completed: "Approved",
  rejected: "Rejected",
  escalated: "Escalated",
  skipped: "Skipped"
}

const approvalMarkup = (approval: ApprovalView | null): Markup => {
  if (approval === null || approval.chain_status === "none" || approval.steps.length === 0) return html``
  return html`<section class="approval" aria-labelledby="approval-title"><h2 id="approval-title">Approval (${
    approval.chain_status.replace(/_/g, " ")
  }, ${approval.mode})</h2><ol class="chain">${
    approval.steps.map((step) => {
      const decidedBy = new Set(step.decisions.map((d) => d.identity.toLowerCase()))
      const pending = step.status === "pending" ? step.assignees.filter((a) => !decidedBy.has(a.toLowerCase())) : []
      return html`<li class="chain-step chain-${slug(step.status)}"${
        approval.current_step === step.step_id ? html` aria-current="step"` : ""
      }><strong>${step.name}</strong> <span class="step-status">${stepStatusText[step.status] ?? step.status}</span>${
        step.quorum > 1 ? html` <span class="muted">(${step.quorum} of ${step.assignees.length} needed)</span>` : ""
      }${
        step.decisions.length === 0 ? "" : html`<ul class="decisions">${
          step.decisions.map((d) =>
            html`<li>${d.identity}: ${d.decision} <span class="muted">${fmtDate(d.decided_at)}</span>${
              d.comment === null || d.comment === "" ? "" : html` (“${d.comment}”)`
            }</li>`
          )
        }</ul>`
      }${pending.length === 0 ? "" : html`<div class="muted">Waiting for: ${pending.join(", ")}</div>`}</li>`
    })
  }</ol></section>`
}

const actionStyle = (action: Action): string => {
  const s = (action.style ?? "").toLowerCase()
  return ["primary", "danger", "secondary", "success", "warning"].includes(s) ? s : "secondary"
}

const actionsMarkup = (model: PageModel): Markup => {
  const { page } = model
  if (page.actions.length === 0) return html``
  if (page.status === "completed") {
    const outcome = page.outcome
    return html`<section class="actions" aria-labelledby="actions-title"><h2 id="actions-title">Decision</h2><p class="outcome">${
      outcome === null
        ? "This page is completed."
        : html`Completed: ${page.actions.find((a) => a.action_id === outcome.actionId)?.label ?? outcome.actionId} (${outcome.decision}) by ${outcome.actor}, ${
          fmtDate(page.completedAt)
        }.`
    }</p></section>`
  }
  if (page.status !== "active") return html``
  if (!model.canDecide) {
    return html`<section class="actions" aria-labelledby="actions-title"><h2 id="actions-title">Decision</h2><p class="muted">${
      model.viewer._tag === "Anonymous" && page.access.mode !== "public"
        ? "Sign in to decide."
        : "You have nothing to decide on this page right now."
    }</p></section>`
  }
  const needsComment = page.actions.some((a) => a.requires_comment === true)
  return html`<section class="actions" aria-labelledby="actions-title"><h2 id="actions-title">Decision</h2><form id="decide" class="decide" method="post" action="/p/${page.id}/actions/${
    encodeURIComponent(page.actions[0]!.action_id)
  }">${csrfField(model.csrf)}<label for="decide-comment">Comment${needsComment ? " (required for some actions)" : " (optional)"}</label><textarea id="decide-comment" name="comment" rows="2"></textarea><div class="buttons">${
    page.actions.map((action) =>
      html`<button type="submit" class="btn btn-${actionStyle(action)}" formaction="/p/${page.id}/actions/${encodeURIComponent(action.action_id)}" name="action" value="${action.action_id}"${
        action.confirm === null || action.confirm === undefined ? "" : html` data-confirm="${action.confirm}"`
      }>${action.label}</button>`
    )
  }</div></form></section>`
}

const commentMarkup = (comment: CommentView, children: ReadonlyMap<string | null, ReadonlyArray<CommentView>>, page: PageRecord, depth: number): Markup => {
  const anchored = comment.blockId === null ? null : page.blocks.find((b) => b.id === comment.blockId) ?? null
  const replies = children.get(comment.id) ?? []
  return html`<li class="comment" id="comment-${slug(comment.id)}"><div class="comment-head"><strong>${
    comment.authorName ?? comment.authorIdentity ?? "Anonymous"
  }</strong>${comment.authorType === "agent" ? html` <span class="badge">agent</span>` : ""} <span class="muted">${fmtDate(comment.createdAt)}${
    comment.updatedAt === null ? "" : " (edited)"
  }</span>${
    anchored === null
      ? comment.blockId === null ? "" : html` <span class="muted">on block ${comment.blockId}</span>`
      : html` <a class="anchor" href="#block-${slug(anchored.id)}">on “${blockTitle(anchored) ?? anchored.type}”</a>`
  }</div><div class="comment-body">${comment.content}</div>${
    replies.length === 0 || depth > 6 ? "" : html`<ol class="replies">${replies.map((r) => commentMarkup(r, children, page, depth + 1))}</ol>`
  }</li>`
}

const commentsMarkup = (model: PageModel, mayComment: boolean): Markup => {
  const { page, comments } = model
  const children = new Map<string | null, Array<CommentView>>()
  const ids = new Set(comments.map((c) => c.id))
  for (const c of comments) {
    const parent = c.parentId !== null && ids.has(c.parentId) ? c.parentId : null
    const list = children.get(parent) ?? []
    list.push(c)
    children.set(parent, list)
  }
  const roots = children.get(null) ?? []
  return html`<section class="comments" id="comments" aria-labelledby="comments-title"><h2 id="comments-title">Comments (${comments.length})</h2>${
    roots.length === 0 ? html`<p class="muted">No comments yet.</p>` : html`<ol class="thread">${roots.map((c) => commentMarkup(c, children, page, 0))}</ol>`
  }${
    mayComment
      ? html`<form class="comment-form" method="post" action="/p/${page.id}/comments">${csrfField(model.csrf)}<label for="comment-content">Add a comment</label><textarea id="comment-content" name="content" rows="3" required maxlength="10000"></textarea>${
        comments.length === 0 ? "" : html`<label for="comment-parent">In reply to</label><select id="comment-parent" name="parent_id"><option value="">(new thread)</option>${
          comments.map((c) => html`<option value="${c.id}">${(c.authorName ?? c.authorIdentity ?? "Anonymous")}: ${c.content.slice(0, 40)}</option>`)
        }</select>`
      }${
        page.blocks.length === 0 ? "" : html`<label for="comment-block">About</label><select id="comment-block" name="block_id"><option value="">(the whole page)</option>${
          page.blocks.map((b) => html`<option value="${b.id}">${blockTitle(b) ?? b.type} (${b.id})</option>`)
        }</select>`
      }<button type="submit" class="btn btn-primary">Comment</button></form>`
      : html`<p class="muted">Sign in to comment.</p>`
  }</section>`
}

const whoMarkup = (viewer: Viewer): Markup => {
  switch (viewer._tag) {
    case "Anonymous":
      return html``
    case "Identity":
      return html`<p class="who">Signed in as ${viewer.email}</p>`
    case "Member":
      return html`<p class="who">Signed in${viewer.email === null ? "" : html` as ${viewer.email}`} (member)</p>`
  }
}

/** The main content: what the live-update script swaps. */
export const pageMain = (model: PageModel): Markup => {
  const { page } = model
  const mayAct = model.viewer._tag !== "Anonymous" || page.access.mode === "public"
  const open = page.status === "active" || page.status === "draft"
  const ctx: BlockContext = {
    pageId: page.id,
    canDecide: model.canDecide && page.status === "active",
    files: model.files,
    uploads: model.uploads,
    mayUpload: mayAct && open,
    csrf: model.csrf,
    commentCounts: model.comments.reduce((m, c) => c.blockId === null ? m : m.set(c.blockId, (m.get(c.blockId) ?? 0) + 1), new Map<string, number>())
  }
  const hasFileList = page.blocks.some((b) => b.type === "file_list")
  return html`<main id="content" data-version="${page.version}">${
    model.notice === null ? "" : html`<p class="flash flash-ok" role="status">${model.notice}</p>`
  }${model.error === null ? "" : html`<p class="flash flash-error" role="alert">${model.error}</p>`}${header(page)}${
    page.status === "draft" ? html`<p class="callout callout-warning">This page is a draft: only your organization sees it.</p>` : ""
  }${
    page.status === "revoked" || page.status === "expired"
      ? html`<p class="callout callout-warning">This page is ${page.status}: people it was published for can no longer open it.</p>`
      : ""
  }<div class="blocks">${renderBlocks(page.blocks, ctx)}</div>${approvalMarkup(model.approval)}${actionsMarkup(model)}${
    hasFileList || (model.files.length === 0 && !(ctx.uploads && ctx.mayUpload))
      ? ""
      : html`<section class="attachments" aria-labelledby="files-title"><h2 id="files-title">Files</h2>${filesMarkup(ctx)}</section>`
  }${model.commenting || model.comments.length > 0 ? commentsMarkup(model, mayAct && open && model.commenting) : ""}${whoMarkup(model.viewer)}</main>`
}

/** `GET /p/:id`: the whole document. */
export const pageDocument = (model: PageModel): Markup => shell(model.page.title, pageMain(model), { pageId: model.page.id })

// ---------------------------------------------------------------------------------------------
// Other pages

/** A page that says why the viewer cannot see the page (404, 410, 403, 401 with the sign-in form, 413, ...). */
export const messageDocument = (options: {
  readonly title: string
  readonly message: string
  readonly pageId?: string | null | undefined
  readonly loginForm?: { readonly action: string; readonly csrf: string } | undefined
  readonly back?: string | undefined
}): Markup =>
  shell(
    options.title,
    html`<main id="content" class="message"><h1>${options.title}</h1><p>${options.message}</p>${
      options.loginForm === undefined
        ? ""
        : html`<form class="login" method="post" action="${options.loginForm.action}">${
          csrfField(options.loginForm.csrf)
        }<label for="login-email">Your email address</label><input type="email" id="login-email" name="email" required autocomplete="email"><button type="submit" class="btn btn-primary">Email me a link</button></form>`
    }${options.back === undefined ? "" : html`<p><a href="${options.back}">Back</a></p>`}</main>`
  )

/** `GET /inbox`. */
export const inboxDocument = (model: InboxView): Markup =>
  shell(
    "Inbox",
    html`<main id="content"><h1>Inbox</h1><p class="who">${model.email}</p>${
      model.entries.length === 0
        ? html`<p class="muted">Nothing waiting for you.</p>`
        : html`<ul class="inbox">${
          model.entries.map((e) =>
            html`<li class="inbox-entry inbox-${slug(e.status)}"><a href="/p/${e.pageId}">${e.title}</a> <span class="badge priority-${slug(e.priority)}">${e.priority}</span> <span class="muted">${
              e.pageType.replace(/_/g, " ")
            }, ${fmtDate(e.createdAt)}${e.status === "unread" ? ", unread" : ""}${e.starred ? ", starred" : ""}</span></li>`
          )
        }</ul>`
    }${model.total > model.entries.length ? html`<p class="muted">Showing ${model.entries.length} of ${model.total}.</p>` : ""}</main>`
  )
