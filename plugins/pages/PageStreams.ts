/**
 * The `PageEvents` implementation and the page's typed event stream. Each page has its own
 * stream in the platform's event log (`pages.page.<pageId>`), so a subscriber of one page is
 * woken only by that page's events and 1,000 viewers of one page share one subscription hub.
 *
 * (The live lane adds the organization's agent stream and agent inbox to `emit`.)
 */
import { Effect, Layer, Schema } from "effect"
import { EventLog, EventStream } from "trellis/plugin"
import { PageEvents } from "./PageEvents.ts"

/** What a page stream's event carries: seed 003's `{type, data}` and who caused it. */
export const PageEventData = Schema.Struct({
  type: Schema.String,
  pageId: Schema.String,
  actor: Schema.String,
  data: Schema.Record(Schema.String, Schema.Unknown)
})
export type PageEventData = typeof PageEventData.Type

/** `pages.page.<pageId>`: one stream per page. */
export const PageStream = EventStream.make("pages.page", PageEventData)

export const layer = Layer.effect(
  PageEvents,
  Effect.gen(function*() {
    const log = yield* EventLog
    return PageEvents.of({
      emit: (page, event) =>
        PageStream.at(page.id).append(log, event.type, {
          type: event.type,
          pageId: page.id,
          actor: event.actor,
          data: event.data
        }).pipe(
          Effect.catchTag("InvalidEvent", Effect.die),
          Effect.asVoid
        )
    })
  })
)
