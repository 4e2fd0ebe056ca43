/**
 * `{{variable}}` templates for `render` steps, with PromptOps's syntax (word characters and
 * dots, optional spaces inside the braces). A dotted name is looked up whole first, then as a
 * path (`steps.fetch.body`). Unknown placeholders stay as they are, as PromptOps renders them.
 * Objects render as JSON. Pure.
 */
const placeholder = /{{\s*([\w.]+)\s*}}/g

const has = (o: unknown, key: string): o is Record<string, unknown> =>
  typeof o === "object" && o !== null && Object.prototype.hasOwnProperty.call(o, key)

const lookup = (variables: Readonly<Record<string, unknown>>, name: string): { readonly found: boolean; readonly value?: unknown } => {
  if (has(variables, name)) return { found: true, value: variables[name] }
  let current: unknown = variables
  for (const part of name.split(".")) {
    if (!has(current, part)) return { found: false }
    current = current[part]
  }
  return { found: true, value: current }
}

const show = (value: unknown): string =>
  typeof value === "string" ? value : value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value)

export const render = (template: string, variables: Readonly<Record<string, unknown>>): string =>
  template.replace(placeholder, (whole, name: string) => {
    const hit = lookup(variables, name)
    return hit.found ? show(hit.value) : whole
  })
