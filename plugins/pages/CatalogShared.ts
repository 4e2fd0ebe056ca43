/** Small helpers of the catalog part. */

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

/** `<prefix>_` + 12 lowercase alphanumerics (`inbox_`, `assoc_`, `wf_`). */
export const newId = (prefix: string): string => {
  const bytes = new Uint8Array(12)
  crypto.getRandomValues(bytes)
  let id = ""
  for (const byte of bytes) id += alphabet[byte % alphabet.length]
  return `${prefix}_${id}`
}
