/**
 * Memory probe for the benchmark's Trellis child (`BENCH_TRELLIS_NODE_ARGS="--import
 * ./bench/memory-probe.mjs"`, `BENCH_MEMORY_FILE=<path>`): appends one JSON line per second with
 * `process.memoryUsage()` and the size of every WebAssembly memory instantiated (PGlite's heap),
 * so RSS growth can be split into the JS heap, buffers and the WASM heap.
 */
import { appendFileSync } from "node:fs"

const file = process.env.BENCH_MEMORY_FILE
if (file !== undefined && file !== "") {
  const memories = new Set()
  const collect = (result) => {
    const instance = result instanceof WebAssembly.Instance ? result : result?.instance
    for (const value of Object.values(instance?.exports ?? {})) if (value instanceof WebAssembly.Memory) memories.add(new WeakRef(value))
    return result
  }
  const instantiate = WebAssembly.instantiate
  WebAssembly.instantiate = (...args) => instantiate(...args).then(collect)
  const streaming = WebAssembly.instantiateStreaming
  if (streaming !== undefined) WebAssembly.instantiateStreaming = (...args) => streaming(...args).then(collect)
  // PGlite creates its memory itself (`new WebAssembly.Memory`) and imports it; weakly held, so
  // a memory that is no longer used drops out of the sum once collected.
  const created = new Set()
  const Memory = WebAssembly.Memory
  WebAssembly.Memory = new Proxy(Memory, {
    construct(target, args) {
      const memory = Reflect.construct(target, args)
      created.add(new WeakRef(memory))
      return memory
    }
  })
  const mb = (n) => Math.round(n / 1048576)
  // With `--expose-gc` and BENCH_MEMORY_GC=1: a full collection before every fifth sample, so
  // `heapUsed` there is what is really held (a leak grows it; garbage does not).
  const collectGarbage = process.env.BENCH_MEMORY_GC === "1" && typeof globalThis.gc === "function"
  let sample = 0
  const timer = setInterval(() => {
    const collected = collectGarbage && sample++ % 5 === 0
    if (collected) globalThis.gc()
    const m = process.memoryUsage()
    let wasm = 0
    for (const ref of memories) {
      const memory = ref.deref()
      if (memory === undefined) memories.delete(ref)
      else wasm += memory.buffer.byteLength
    }
    let wasmCreated = 0
    let live = 0
    for (const ref of created) {
      const memory = ref.deref()
      if (memory === undefined) created.delete(ref)
      else {
        wasmCreated += memory.buffer.byteLength
        live++
      }
    }
    appendFileSync(file, JSON.stringify({
      t: Date.now(),
      gc: collected,
      rss: mb(m.rss),
      heapTotal: mb(m.heapTotal),
      heapUsed: mb(m.heapUsed),
      external: mb(m.external),
      arrayBuffers: mb(m.arrayBuffers),
      wasm: mb(wasm),
      wasmCreated: mb(wasmCreated),
      wasmMemories: live
    }) + "\n")
  }, 1000)
  timer.unref()
}
