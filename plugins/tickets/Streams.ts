/**
 * The tickets plugin's change stream (contract module: other plugins import it to follow
 * tickets). Every status change of a ticket (created, started, completed, resolved, closed,
 * dismissed, ...) is appended to one typed event stream for all organizations (the platform's
 * event log), in the transaction that makes the change: a follower that keeps its position
 * (the event's `seq`) and resumes after it misses nothing, and never sees a change that did
 * not commit. `organization_id` says whose ticket it is; a follower acts in that organization.
 */
import { Schema } from "effect"
import { EventStream } from "trellis/plugin"

/** One change of a ticket, as stored (the stream's `seq` comes with the delivery). */
export const TicketChange = Schema.Struct({
  organization_id: Schema.String,
  project_id: Schema.String,
  ticket_id: Schema.String,
  /** What happened: `create`, `start`, or the transition's name (`complete`, `resolve`, `close`, `dismiss`, ...). */
  change: Schema.String,
  /** The ticket's status after the change. */
  status: Schema.String,
  /** The completion notes, when the ticket has any. */
  completion_notes: Schema.NullOr(Schema.String)
})
export type TicketChange = typeof TicketChange.Type

/** All organizations' ticket changes: `TicketChanges.at()`. */
export const TicketChanges = EventStream.make("tickets.changes", TicketChange)

/** The stream's name in the event log. */
export const ticketChangesStream = TicketChanges.at().name
