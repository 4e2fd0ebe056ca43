/**
 * Which IP addresses the server may connect to on a caller's behalf (provider calls today,
 * webhook deliveries and HTTP workflow steps later): the address classifier behind
 * `OutboundHttp`.
 *
 * Every textual form is reduced to one number first, so that the check cannot be dodged by
 * spelling: IPv4 in any of the forms a URL parser accepts (`127.1`, `0x7f.1`, `2130706433`;
 * `new URL` already rewrites those to dotted quads), IPv6 compressed or not, with or without a
 * zone, and IPv6 addresses that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d` and its hex
 * form, IPv4-translated `::ffff:0:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`,
 * 6to4 `2002::/16`, Teredo `2001::/32`) are judged by the IPv4 address they reach.
 *
 * IPv6 is allowed only inside global unicast (`2000::/3`) minus its special ranges; IPv4 is
 * allowed unless it is loopback, private, link-local, CGNAT, benchmark, documentation,
 * multicast, reserved, broadcast or "this network". Anything that does not parse is refused.
 */
import { isIP } from "node:net"

/** Whether an address is allowed; when not, why (`reason` names the address, `label` only its kind). */
export type Verdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: string; readonly label: string }

const v4Ranges: ReadonlyArray<readonly [string, number, string]> = [
  ["0.0.0.0", 8, "this network / unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "carrier-grade NAT"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "6to4 relay anycast"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved / broadcast"]
]

/** Special ranges inside `2000::/3` (everything outside it is refused anyway). */
const v6Ranges: ReadonlyArray<readonly [string, number, string]> = [
  ["2001::", 23, "IETF protocol assignments"],
  ["2001:db8::", 32, "documentation"],
  ["3fff::", 20, "documentation"],
  ["2002::", 16, "6to4"] // reached only when the embedded address is itself malformed
]

/** The 32-bit value of a dotted-quad IPv4 address, or `undefined`. */
const v4Value = (text: string): number | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    value = value * 256 + n
  }
  return value
}

/** The 128-bit value of an IPv6 address (zone removed), or `undefined`. */
const v6Value = (text: string): bigint | undefined => {
  let address = text.toLowerCase()
  const zone = address.indexOf("%")
  if (zone !== -1) address = address.slice(0, zone)
  if (isIP(address) !== 6) return undefined
  let tail: Array<string> = []
  const lastColon = address.lastIndexOf(":")
  const last = address.slice(lastColon + 1)
  if (last.includes(".")) {
    const v4 = v4Value(last)
    if (v4 === undefined) return undefined
    tail = [(v4 >>> 16).toString(16), (v4 & 0xffff).toString(16)]
    address = address.slice(0, lastColon + 1) + "0:0" // placeholders for the two groups, replaced below
  }
  const [head, rest] = address.split("::") as [string, string | undefined]
  const headGroups = head === "" ? [] : head.split(":")
  const restGroups = rest === undefined ? [] : rest === "" ? [] : rest.split(":")
  let groups: Array<string>
  if (rest === undefined) groups = headGroups
  else {
    const missing = 8 - headGroups.length - restGroups.length
    groups = [...headGroups, ...Array.from({ length: missing }, () => "0"), ...restGroups]
  }
  if (tail.length === 2) groups = [...groups.slice(0, groups.length - 2), ...tail]
  if (groups.length !== 8) return undefined
  let value = 0n
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined
    value = (value << 16n) | BigInt(parseInt(group, 16))
  }
  return value
}

const v4InRange = (value: number, base: string, bits: number): boolean => {
  const start = v4Value(base) ?? 0
  const size = 2 ** (32 - bits)
  return value >= start && value < start + size
}

const v6InRange = (value: bigint, base: string, bits: number): boolean => {
  const start = v6Value(base) ?? 0n
  const shift = BigInt(128 - bits)
  return (value >> shift) === (start >> shift)
}

const v4Text = (value: number): string => [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".")

const checkV4 = (value: number, shown: string): Verdict => {
  for (const [base, bits, label] of v4Ranges) {
    if (v4InRange(value, base, bits)) return { allowed: false, reason: `${shown} is a ${label} address`, label }
  }
  return { allowed: true }
}

const low32 = (value: bigint): number => Number(value & 0xffffffffn)

/**
 * The IPv4 addresses an IPv6 address carries (and reaches through a translator or tunnel);
 * empty when it carries none.
 */
export const embeddedIpv4 = (value: bigint): ReadonlyArray<number> => {
  const top96 = value >> 32n
  if (top96 === 0xffffn) return [low32(value)] // ::ffff:a.b.c.d, IPv4-mapped
  if (top96 === 0xffff0000n) return [low32(value)] // ::ffff:0:a.b.c.d, IPv4-translated (SIIT)
  if (top96 === 0n) return [low32(value)] // ::a.b.c.d, IPv4-compatible (also :: and ::1)
  if (v6InRange(value, "64:ff9b::", 96)) return [low32(value)] // NAT64 well-known prefix
  if (v6InRange(value, "2002::", 16)) return [Number((value >> 80n) & 0xffffffffn)] // 6to4
  if (v6InRange(value, "2001::", 32)) {
    // Teredo: the server's address in bits 32-63, the client's (inverted) in the last 32.
    return [Number((value >> 64n) & 0xffffffffn), (~low32(value)) >>> 0]
  }
  return []
}

/** Whether the server may connect to `address` (an IPv4 or IPv6 literal, brackets allowed). */
export const classify = (address: string): Verdict => {
  const text = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address
  const v4 = v4Value(text)
  if (v4 !== undefined) return checkV4(v4, text)
  const v6 = v6Value(text)
  if (v6 === undefined) return { allowed: false, reason: `${address} is not an IP address`, label: "malformed" }
  if (v6 === 0n) return { allowed: false, reason: `${text} is the unspecified address`, label: "unspecified" }
  if (v6 === 1n) return { allowed: false, reason: `${text} is the loopback address`, label: "loopback" }
  const embedded = embeddedIpv4(v6)
  if (embedded.length > 0) {
    for (const inner of embedded) {
      const verdict = checkV4(inner, `${text} (IPv4 ${v4Text(inner)})`)
      if (!verdict.allowed) return verdict
    }
    // NAT64, 6to4 and Teredo reach a public IPv4 address; mapped and compatible forms are not
    // routable IPv6 at all, but the socket layer would connect them to the IPv4 address.
    return { allowed: true }
  }
  if (v6InRange(v6, "64:ff9b:1::", 48)) {
    return { allowed: false, reason: `${text} is a local-use NAT64 address`, label: "local-use NAT64" }
  }
  if (!v6InRange(v6, "2000::", 3)) {
    const label = v6InRange(v6, "fc00::", 7)
      ? "unique local"
      : v6InRange(v6, "fe80::", 10)
      ? "link-local"
      : v6InRange(v6, "fec0::", 10)
      ? "site-local"
      : v6InRange(v6, "ff00::", 8)
      ? "multicast"
      : "non-global"
    return { allowed: false, reason: `${text} is a ${label} address`, label }
  }
  for (const [base, bits, label] of v6Ranges) {
    if (v6InRange(v6, base, bits)) return { allowed: false, reason: `${text} is a ${label} address`, label }
  }
  return { allowed: true }
}

/** Whether `address` is one the server must not connect to for a caller. */
export const isInternalAddress = (address: string): boolean => !classify(address).allowed

/** Host names that are internal by name, whatever they resolve to. */
export const isInternalName = (host: string): boolean => {
  const name = host.toLowerCase().replace(/\.$/, "")
  return name === "localhost" || name.endsWith(".localhost") || name.endsWith(".local") ||
    name.endsWith(".internal") || name.endsWith(".home.arpa") || name === "localhost.localdomain"
}

/**
 * What a caller allows: `allowPrivate` lets an operator reach internal addresses (a model
 * server on the same machine); it is off by default.
 */
export interface Policy {
  readonly allowPrivate: boolean
  /**
   * How host names are resolved, both for the check before a request and for the connection
   * itself (default: the system resolver, `dns.lookup`). Tests use it to simulate DNS answers
   * that change between the check and the connection.
   */
  readonly resolve?: Resolver | undefined
}

/** Every address a host name resolves to. */
export type Resolver = (host: string) => Promise<ReadonlyArray<{ readonly address: string; readonly family: number }>>

export const strict: Policy = { allowPrivate: false }
