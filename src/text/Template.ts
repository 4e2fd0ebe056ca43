/**
 * `{{variable}}` templates with PromptOps's syntax: a name of word characters and dots, optional
 * spaces inside the braces. One module for every plugin that renders them, so prompts and runs
 * cannot drift apart on the syntax.
 *
 * - `render` is exactly what PromptOps's SDKs and server do (a prompt served to an SDK must
 *   render the same on either side): a name is looked up whole, a value is `String(value)`.
 * - `renderPaths` is for data that is not flat (a workflow's step outputs): a dotted name is
 *   looked up whole first, then as a path (`steps.fetch.body`), and objects render as JSON.
 *
 * Unknown placeholders stay as they are in both. Pure and client-safe.
 */

const placeholder = /{{\s*([\w.]+)\s*}}/g

const has = (o: unknown, key: string): o is Record<string, unknown> =>
  typeof o === "object" && o !== null && Object.prototype.hasOwnProperty.call(o, key)

/** The distinct variable names `template` uses, in order of first use. */
export const variablesOf = (template: string): ReadonlyArray<string> => {
  const seen = new Set<string>()
  for (const match of template.matchAll(placeholder)) seen.add(match[1])
  return [...seen]
}

/** The variables `template` uses that `variables` does not define (by whole name). */
export const missingVariables = (template: string, variables: Readonly<Record<string, unknown>>): ReadonlyArray<string> =>
  variablesOf(template).filter((name) => !has(variables, name))

/** Replaces each known `{{name}}` with `String(value)`; unknown placeholders stay untouched. */
export const render = (template: string, variables: Readonly<Record<string, unknown>>): string =>
  template.replace(placeholder, (whole, name: string) => has(variables, name) ? String(variables[name]) : whole)

const lookupPath = (variables: Readonly<Record<string, unknown>>, name: string): { readonly found: boolean; readonly value?: unknown } => {
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

/** Like `render`, with dotted names also read as paths and objects shown as JSON. */
export const renderPaths = (template: string, variables: Readonly<Record<string, unknown>>): string =>
  template.replace(placeholder, (whole, name: string) => {
    const hit = lookupPath(variables, name)
    return hit.found ? show(hit.value) : whole
  })
