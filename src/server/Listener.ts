/**
 * The HTTP listener: Node's server with the configured limits against slow and numerous
 * clients, and a hard deadline for shutdown.
 *
 * Why: Node's defaults let a client dribble headers or a body for 300 s (`requestTimeout`) and
 * hold any number of connections, and its `close` waits for every connection, so a WebSocket
 * client that ignores the close frame (or a half-sent request) holds shutdown past the grace
 * period. Upgraded sockets (WebSockets) leave the HTTP server's own connection tracking
 * (`closeAllConnections` misses them), so every socket is tracked here from its `connection`.
 *
 * `requestTimeout` and `headersTimeout` bound receiving the request only: once Node has parsed
 * the whole request, the response may take as long as it needs (live streams), and an upgraded
 * socket is no longer checked. `server.timeout` (socket inactivity) stays off for the same reason.
 */
import type * as Net from "node:net"
import type { ListenerConfig } from "../config/TrellisConfig.ts"
import { NodeServer } from "../http/FastPathServer.ts"

/** How often Node looks for requests past their timeout (Node's default is 30 s). */
const checkingIntervalMs = (config: ListenerConfig): number =>
  Math.max(250, Math.min(1000, config.headersTimeoutSeconds * 250))

export interface Listener {
  readonly server: NodeServer
  /** Open sockets, upgraded ones included. */
  readonly sockets: ReadonlySet<Net.Socket>
  /**
   * Destroys every open socket after `ms` (an unref'd timer: it does not keep the process
   * alive). Called once when shutdown begins: what is still open at the deadline is cut.
   */
  readonly destroyAllAfter: (ms: number) => void
}

export const make = (config: ListenerConfig): Listener => {
  const server = new NodeServer({
    headersTimeout: config.headersTimeoutSeconds * 1000,
    requestTimeout: config.requestTimeoutSeconds * 1000,
    keepAliveTimeout: config.keepAliveTimeoutSeconds * 1000,
    connectionsCheckingInterval: checkingIntervalMs(config)
  })
  if (config.maxConnections > 0) server.maxConnections = config.maxConnections
  const sockets = new Set<Net.Socket>()
  server.on("connection", (socket: Net.Socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })
  let armed = false
  const destroyAllAfter = (ms: number) => {
    if (armed) return
    armed = true
    const timer = setTimeout(() => {
      for (const socket of sockets) socket.destroy()
    }, ms)
    timer.unref()
  }
  return { server, sockets, destroyAllAfter }
}
