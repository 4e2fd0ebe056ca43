/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`, e.g. via
 * `BENCH_TRELLIS_NODE_ARGS="--cpu-prof --cpu-prof-dir=<dir>" npm run bench`): top functions by
 * self time and self time per package / source area.
 *
 *   node bench/profile-summary.ts <file.cpuprofile> [--from <s>] [--to <s>] [--top <n>]
 *
 * `--from`/`--to` keep only samples in that window, in seconds from the profile start (use them
 * to leave out server start-up); the sample timeline is printed to help choose it.
 * `--inclusive <text>` also lists functions by inclusive time (self plus callees), keeping those
 * whose name or file contains the text (`--inclusive ""` keeps all): the way to see what a
 * middleware or a layer costs as a whole, e.g. `--inclusive src/`.
 */
import { readFileSync } from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const args = process.argv.slice(2)
const file = args.find((a, i) => !a.startsWith("--") && (i === 0 || !(args[i - 1] ?? "").startsWith("--")))
if (file === undefined) {
  console.error("usage: node bench/profile-summary.ts <file.cpuprofile> [--from <s>] [--to <s>] [--top <n>]")
  process.exit(2)
}
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(name)
  const value = i >= 0 ? Number(args[i + 1]) : fallback
  if (Number.isNaN(value)) throw new Error(`${name} needs a number`)
  return value
}
const from = option("--from", 0)
const to = option("--to", Number.POSITIVE_INFINITY)
const top = option("--top", 30)
const inclusiveIndex = args.indexOf("--inclusive")
const inclusiveFilter = inclusiveIndex >= 0 ? (args[inclusiveIndex + 1] ?? "") : undefined

const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
const parents = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)

/** Where a function lives: a package name, a repo folder, or a V8 category. */
const area = (url: string, functionName: string): string => {
  if (url === "") return `(${functionName || "native"})`
  const nm = url.lastIndexOf("/node_modules/")
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/")
    return rest[0]?.startsWith("@") === true ? `${rest[0]}/${rest[1] ?? ""}` : (rest[0] ?? url)
  }
  if (url.startsWith("node:")) return "node:(core)"
  const m = /\/(src|plugins|examples|bench)\/([^/]+)/.exec(url)
  return m === null ? url : `${m[1]}/${m[2]}`
}

const keyOf = ({ functionName, url, lineNumber }: CallFrame): string => {
  const short = url.replace(/^file:\/\/.*?\/(node_modules|src|plugins|examples|bench)\//, "$1/")
  return `${functionName || "(anonymous)"}  ${short}${url === "" ? "" : `:${lineNumber + 1}`}`
}

const self = new Map<string, number>()
const inclusive = new Map<string, number>()
const byArea = new Map<string, number>()
const perSecond = new Map<number, number>()
let t = 0
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0
  t += dt
  const second = Math.floor(t / 1e6)
  const node = nodes.get(profile.samples[i] ?? -1)
  if (node === undefined) continue
  const idle = node.callFrame.functionName === "(idle)"
  if (!idle) perSecond.set(second, (perSecond.get(second) ?? 0) + dt)
  if (t / 1e6 < from || t / 1e6 > to || idle) continue
  const { functionName, url } = node.callFrame
  const key = keyOf(node.callFrame)
  self.set(key, (self.get(key) ?? 0) + dt)
  if (inclusiveFilter !== undefined) {
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parents.get(id)) {
      const frame = nodes.get(id)?.callFrame
      if (frame === undefined) break
      const k = keyOf(frame)
      if (seen.has(k) || !k.includes(inclusiveFilter)) continue
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt)
    }
  }
  const a = area(url, functionName)
  byArea.set(a, (byArea.get(a) ?? 0) + dt)
  total += dt
}

console.log(`busy ms per second of the profile (excluding idle):`)
console.log(
  [...perSecond.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, us]) => `${s}s:${Math.round(us / 1000)}`)
    .join(" ")
)
const print = (title: string, map: Map<string, number>, n: number): void => {
  console.log(`\n${title} (window ${from}-${to === Number.POSITIVE_INFINITY ? "end" : to} s, ${Math.round(total / 1000)} ms busy):`)
  for (const [key, us] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}`)
  }
}
print("self time by package / area", byArea, 20)
print("top functions by self time", self, top)
if (inclusiveFilter !== undefined) print(`top functions by inclusive time, matching "${inclusiveFilter}"`, inclusive, top)
