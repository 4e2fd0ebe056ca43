/**
 * The HTTP request metrics: requests by method, route template and status, and a latency
 * histogram by method and route template. One instance per server, shared by the Effect
 * pipeline (`HttpPipeline`) and the fast path (`FastPathServer`), so both count into the same
 * series.
 */
import { Context, Metric } from "effect"

const requestsTotal = {
  name: "trellis_http_requests_total",
  description: "HTTP requests by method, route template and status"
}

const requestDuration = {
  name: "trellis_http_request_duration_seconds",
  description: "HTTP request latency by method and route template",
  boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
}

const fastPathTotal = {
  name: "trellis_http_fast_path_requests_total",
  description: "Requests answered by a fast route (also counted in trellis_http_requests_total), by route template"
}

/** The latency of one (method, route) series, in the shape of Effect's `HistogramState`. */
interface Latency {
  /** Per-bucket counts; the last one counts what is above the largest boundary. */
  readonly values: Uint32Array
  count: number
  sum: number
  min: number
  max: number
}

/**
 * The request metrics. Plain counters updated in place, registered once per series with
 * `Metric.registerUnsafe` and read by the Prometheus exporter at scrape time: cheaper than a
 * `Metric.update` per request, which looks the series up in the registry by a JSON key each
 * time (and, with `Metric.withAttributes` on one shared metric, recomputes that key whenever
 * consecutive requests differ in route or status). Series are found through maps keyed by the
 * method, route template and status themselves, without building a key string per request.
 */
export const make = () => {
  const boundaries = requestDuration.boundaries
  const registrations: Array<Metric.Registration> = []
  const counters = new Map<string, Map<string, Map<number, { count: number }>>>()
  const latencies = new Map<string, Map<string, Latency>>()
  const inner = <K, V>(map: Map<string, Map<K, V>>, key: string): Map<K, V> => {
    let found = map.get(key)
    if (found === undefined) {
      found = new Map()
      map.set(key, found)
    }
    return found
  }
  const ignore = () => {}

  /** A new counter series, registered to be read at scrape time. */
  const registerCounter = (
    context: Context.Context<never>,
    spec: { readonly name: string; readonly description: string },
    attributes: Record<string, string>
  ) => {
    const state = { count: 0 }
    const metric = Metric.counter(spec.name, { description: spec.description, incremental: true, attributes })
    registrations.push(Metric.registerUnsafe(metric, context, {
      get: () => ({ count: state.count, incremental: true }),
      update: ignore,
      modify: ignore
    }))
    return state
  }

  const counterOf = (context: Context.Context<never>, method: string, route: string, status: number) => {
    const byStatus = inner(inner(counters, method), route)
    let counter = byStatus.get(status)
    if (counter === undefined) {
      counter = registerCounter(context, requestsTotal, { method, route, status: String(status) })
      byStatus.set(status, counter)
    }
    return counter
  }

  const latencyOf = (context: Context.Context<never>, method: string, route: string): Latency => {
    const byRoute = inner(latencies, method)
    let latency = byRoute.get(route)
    if (latency === undefined) {
      const state: Latency = { values: new Uint32Array(boundaries.length + 1), count: 0, sum: 0, min: Number.MAX_VALUE, max: -Number.MAX_VALUE }
      const metric = Metric.histogram(requestDuration.name, {
        description: requestDuration.description,
        boundaries,
        attributes: { method, route }
      })
      registrations.push(Metric.registerUnsafe(metric, context, {
        get: () => {
          let cumulated = 0
          const buckets = boundaries.map((boundary, i): [number, number] => {
            cumulated += state.values[i] ?? 0
            return [boundary, cumulated]
          })
          return { buckets, count: state.count, sum: state.sum, min: state.min, max: state.max }
        },
        update: ignore,
        modify: ignore
      }))
      byRoute.set(route, state)
      latency = state
    }
    return latency
  }

  const fast = new Map<string, { count: number }>()
  const fastOf = (context: Context.Context<never>, route: string) => {
    let counter = fast.get(route)
    if (counter === undefined) {
      counter = registerCounter(context, fastPathTotal, { route })
      fast.set(route, counter)
    }
    return counter
  }

  return {
    /** Counts a request a fast route answered (`record` counts it as a request too). */
    countFast: (context: Context.Context<never>, route: string): void => {
      fastOf(context, route).count++
    },
    record: (context: Context.Context<never>, method: string, route: string, status: number, seconds: number): void => {
      counterOf(context, method, route, status).count++
      const latency = latencyOf(context, method, route)
      let bucket = 0
      while (bucket < boundaries.length && seconds > (boundaries[bucket] ?? 0)) bucket++
      latency.values[bucket] = (latency.values[bucket] ?? 0) + 1
      latency.count++
      latency.sum += seconds
      if (seconds < latency.min) latency.min = seconds
      if (seconds > latency.max) latency.max = seconds
    },
    /** Removes the series from the registry (the server is stopping). */
    close: (): void => {
      for (const registration of registrations.splice(0)) registration.remove()
    }
  }
}


export type HttpMetrics = ReturnType<typeof make>
