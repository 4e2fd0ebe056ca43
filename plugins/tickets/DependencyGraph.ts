/**
 * The dependency DAG check: would replacing a ticket's `depends_on` close a cycle? If so, which
 * one, walked from the ticket through its new dependency back to itself, so the refusal can
 * name it. Pure; the caller loads the project's edges.
 */

export interface Edge {
  /** The ticket that depends... */
  readonly ticket_id: string
  /** ...on this one. */
  readonly depends_on_id: string
}

/**
 * The cycle `ticketId -> dep -> ... -> ticketId` that `newDependsOn` would create, given the
 * project's current `edges` (the ticket's own outgoing edges are ignored: they are being
 * replaced), or `undefined` when the graph stays acyclic.
 */
export const findCycle = (
  ticketId: string,
  newDependsOn: ReadonlyArray<string>,
  edges: ReadonlyArray<Edge>
): ReadonlyArray<string> | undefined => {
  const next = new Map<string, Array<string>>()
  for (const edge of edges) {
    if (edge.ticket_id === ticketId) continue
    const list = next.get(edge.ticket_id)
    if (list === undefined) next.set(edge.ticket_id, [edge.depends_on_id])
    else list.push(edge.depends_on_id)
  }
  for (const start of newDependsOn) {
    if (start === ticketId) return [ticketId, ticketId]
    // Breadth-first from the new dependency, remembering how each node was reached.
    const parent = new Map<string, string | null>([[start, null]])
    const queue = [start]
    for (let i = 0; i < queue.length; i++) {
      const node = queue[i]
      for (const dep of next.get(node) ?? []) {
        if (dep === ticketId) {
          const path = [node]
          for (let at = parent.get(node) ?? null; at !== null; at = parent.get(at) ?? null) path.push(at)
          return [ticketId, ...path.reverse(), ticketId]
        }
        if (!parent.has(dep)) {
          parent.set(dep, node)
          queue.push(dep)
        }
      }
    }
  }
  return undefined
}
