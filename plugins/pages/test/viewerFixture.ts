/**
 * What the viewer's tests and the benchmark share: a page with every block type (and hostile
 * markdown), and a small browser-like HTTP client (a cookie jar, no redirects followed) for the
 * no-JavaScript forms.
 */
import { Effect } from "effect"

/** One block of each type the viewer renders, plus an unknown type and grouping. */
export const everyBlock: ReadonlyArray<Record<string, unknown>> = [
  { id: "b_text", type: "text", data: { title: "Findings", content: "## Summary\n\nThe **refund** is *justified*.\n\n- item one\n- item two\n\n[docs](https://example.com/docs)" } },
  {
    id: "b_hostile",
    type: "text",
    data: {
      content: "<script>window.__pwned = 1</script>\n\n<img src=x onerror=\"window.__pwned = 2\">\n\n[click me](javascript:window.__pwned=3)\n\n[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)\n\n![remote](https://example.com/x.png)"
    }
  },
  { id: "b_kv", type: "key_value", data: { title: "Ticket Overview", pairs: [{ key: "Customer", value: "Alice Wang" }, { key: "Amount", value: "$127.50" }] } },
  { id: "b_metric", type: "metric", data: { title: "This week", items: [{ label: "Refunds", value: 42, trend: "up", change: "+12%" }, { label: "Cost", value: "$3.1k", trend: "down", change: "-4%" }] } },
  { id: "b_table", type: "table", data: { title: "Orders", columns: ["Order", "Status", "Total"], rows: [["#1001", "shipped", "$20"], ["#1002", "damaged", "$127.50"]] } },
  { id: "b_bar", type: "chart", data: { title: "Refunds by day", chart_type: "bar", data: { labels: ["Mon", "Tue", "Wed"], datasets: [{ label: "Refunds", data: [3, 5, 2] }, { label: "Returns", data: [1, 2, 4] }] } } },
  { id: "b_line", type: "chart", data: { title: "DAU", chart_type: "line", data: { labels: ["Mon", "Tue"], datasets: [{ label: "DAU", data: [1200, 1500] }] } } },
  { id: "b_area", type: "chart", data: { title: "Load", chart_type: "area", data: { labels: ["1", "2", "3", "4"], datasets: [{ label: "Load", data: [1, 3, 2, 5] }] } } },
  { id: "b_pie", type: "chart", data: { title: "Share", chart_type: "pie", data: { labels: ["A", "B", "C"], datasets: [{ label: "Share", data: [50, 30, 20] }] } } },
  { id: "b_info", type: "callout", data: { style: "info", content: "For your information." } },
  { id: "b_warn", type: "callout", data: { style: "warning", content: "Check the **amount**." } },
  { id: "b_err", type: "callout", data: { style: "error", content: "The card was declined." } },
  { id: "b_ok", type: "callout", data: { style: "success", content: "Customer verified." } },
  { id: "b_code", type: "code", data: { language: "typescript", code: "const x = \"<b>not bold</b>\" && 1 < 2" } },
  { id: "b_image", type: "image", data: { url: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", alt: "A pixel", caption: "Inline image" } },
  { id: "b_remote", type: "image", data: { url: "https://example.com/photo.jpg", alt: "A remote photo" } },
  { id: "b_stepper", type: "stepper", data: { title: "Progress", steps: [{ label: "Received", status: "completed" }, { label: "Review", status: "current" }, { label: "Refund", status: "pending" }] } },
  {
    id: "b_columns",
    type: "columns",
    data: { columns: [{ blocks: [{ type: "text", data: { content: "Left column" } }] }, { blocks: [{ type: "metric", data: { label: "Right", value: 7 } }] }] }
  },
  { id: "b_collapsible", type: "collapsible", data: { title: "Reasoning", content: "I compared the **photos** with the order." } },
  {
    id: "b_form",
    type: "form",
    data: {
      title: "Refund details",
      fields: [
        { name: "amount", label: "Amount to refund", type: "number", default: "127.50" },
        { name: "reason", label: "Reason", type: "select", options: ["damaged", "late", "other"] },
        { name: "notify_customer", label: "Notify the customer", type: "checkbox" },
        { name: "note", label: "Note to the customer", type: "textarea" }
      ]
    }
  },
  { id: "b_files", type: "file_list", data: { title: "Evidence" } },
  { id: "b_divider", type: "divider", data: {} },
  { id: "b_unknown", type: "sparkline", data: { values: [1, 2, 3] } },
  { id: "b_g1", type: "text", group: "Details", tab: "Customer", data: { content: "Customer since 2019." } },
  { id: "b_g2", type: "text", group: "Details", tab: "Order", data: { content: "Order #1002." } }
]

export const pageInput = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  page_type: "approval",
  title: "Refund Approval #4821",
  summary: "Customer reported product damage, recommend full refund",
  priority: "high",
  tags: ["refund", "cs"],
  blocks: everyBlock,
  actions: [
    { action_id: "act_approve", label: "Approve Refund", style: "primary" },
    { action_id: "act_reject", label: "Reject", style: "danger" }
  ],
  access: { mode: "public" },
  ...overrides
})

export interface Reply {
  readonly status: number
  readonly text: string
  readonly headers: Headers
}

/** A browser-like client: keeps cookies, follows no redirect. */
export const browserLike = (baseUrl: string) => {
  const jar = new Map<string, string>()
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ")
  const send = (method: string, path: string, init: { readonly body?: BodyInit; readonly headers?: Record<string, string> } = {}) =>
    Effect.promise(async (): Promise<Reply> => {
      const headers: Record<string, string> = { ...init.headers }
      if (jar.size > 0) headers["cookie"] = cookieHeader()
      const response = await fetch(`${baseUrl}${path}`, { method, headers, body: init.body ?? null, redirect: "manual" })
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(";")
        const eq = pair!.indexOf("=")
        jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim())
      }
      return { status: response.status, text: await response.text(), headers: response.headers }
    })
  return {
    jar,
    get: (path: string, headers?: Record<string, string>) => send("GET", path, headers === undefined ? {} : { headers }),
    /** A form post, URL-encoded like a browser's. */
    post: (path: string, fields: Record<string, string>) =>
      send("POST", path, { body: new URLSearchParams(fields).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } }),
    postMultipart: (path: string, form: FormData) => send("POST", path, { body: form })
  }
}

/** The CSRF field of a rendered page. */
export const csrfOf = (html: string): string => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? ""
