/**
 * Minimal typings for the parts of autocannon@9 the benchmark uses (the package ships none and
 * there is no `@types/autocannon` in the project).
 */
declare module "autocannon" {
  namespace autocannon {
    interface Options {
      readonly url: string
      readonly connections?: number
      /** Seconds. */
      readonly duration?: number
      readonly pipelining?: number
      /** Seconds before a request counts as timed out. */
      readonly timeout?: number
      readonly method?: string
      readonly headers?: Readonly<Record<string, string>>
      readonly body?: string
      /** Requests sent in turn on each connection. */
      readonly requests?: ReadonlyArray<{ readonly method?: string; readonly path?: string; readonly headers?: Readonly<Record<string, string>>; readonly body?: string }>
    }

    /** A histogram summary; latency values are milliseconds, request values are per second. */
    interface Histogram {
      readonly average: number
      readonly mean: number
      readonly stddev: number
      readonly min: number
      readonly max: number
      readonly total: number
      readonly p50: number
      readonly p90: number
      readonly p97_5: number
      readonly p99: number
    }

    interface Result {
      readonly url: string
      readonly connections: number
      readonly duration: number
      readonly requests: Histogram
      readonly latency: Histogram
      readonly throughput: Histogram
      readonly errors: number
      readonly timeouts: number
      readonly mismatches: number
      readonly resets: number
      readonly non2xx: number
      readonly "2xx": number
      readonly statusCodeStats: Readonly<Record<string, { readonly count: number }>>
    }

    interface Instance extends PromiseLike<Result> {
      stop(): void
    }
  }

  function autocannon(options: autocannon.Options): autocannon.Instance

  export = autocannon
}
