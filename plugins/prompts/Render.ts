/**
 * `{{variable}}` templates, with exactly the PromptOps SDKs' syntax: a name of word characters
 * and dots, optional spaces inside the braces. Rendering leaves unknown placeholders as they
 * are (what the SDKs' `render` and PromptOps's server do); the playground lists them.
 *
 * Pure and client-safe.
 */

const placeholder = /{{\s*([\w.]+)\s*}}/g

/** The distinct variable names `content` uses, in order of first use. */
export const variablesOf = (content: string): ReadonlyArray<string> => {
  const seen = new Set<string>()
  for (const match of content.matchAll(placeholder)) seen.add(match[1])
  return [...seen]
}

/** The variables `content` uses that `variables` does not define. */
export const missingVariables = (content: string, variables: Readonly<Record<string, unknown>>): ReadonlyArray<string> =>
  variablesOf(content).filter((name) => !Object.prototype.hasOwnProperty.call(variables, name))

/** Replaces each known `{{name}}` with `String(value)`; unknown placeholders stay untouched. */
export const render = (content: string, variables: Readonly<Record<string, unknown>>): string =>
  content.replace(placeholder, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(variables, name) ? String(variables[name]) : whole)
