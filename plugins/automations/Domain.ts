/**
 * The automations plugin's wire shapes: Sursakit's automations (seed 000), snake_case, under
 * `/api/v1/workspace/{workspace_id}/automations`. An automation is a trigger (a cron schedule,
 * an incoming webhook, or a Trellis event such as `prompt.published`) and a target (a workflow
 * or an agent, with inputs) that a trigger starts as a one-step run of the runs plugin.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"

/** The Trellis events an automation can follow: the prompts plugin's change events. */
export const eventNames = [
  "prompt.created",
  "prompt.updated",
  "prompt.published",
  "prompt.rolled_back",
  "prompt.deleted",
  "rollout.updated",
  "rollout.deleted"
] as const
export const EventName = Schema.Literals(eventNames)
export type EventName = typeof EventName.Type

const Text = (max: number) => Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(max))

/** `{type: "cron", schedule: "*\/5 * * * *", timezone?: "Europe/Paris"}`: 5 fields, UTC unless a time zone is given. */
export const CronTrigger = Schema.Struct({
  type: Schema.Literal("cron"),
  schedule: Text(100),
  timezone: Schema.optionalKey(Text(64))
})

/** `{type: "webhook"}`: `POST /api/v1/webhooks/incoming` signed with the automation's secret. */
export const WebhookTrigger = Schema.Struct({ type: Schema.Literal("webhook") })

/** Which events match: every given member must equal the event's (the prompt's key, environment or id). */
export const EventFilter = Schema.Struct({
  key: Schema.optionalKey(Text(200)),
  env: Schema.optionalKey(Text(100)),
  prompt_id: Schema.optionalKey(Text(200))
})
export type EventFilter = typeof EventFilter.Type

/** `{type: "event", event: "prompt.published", filter?: {key?, env?, prompt_id?}}`: events of the automation's workspace. */
export const EventTrigger = Schema.Struct({
  type: Schema.Literal("event"),
  event: EventName,
  filter: Schema.optionalKey(EventFilter)
})

export const Trigger = Schema.Union([CronTrigger, WebhookTrigger, EventTrigger])
export type Trigger = typeof Trigger.Type

export const TargetType = Schema.Literals(["workflow", "agent"])
export type TargetType = typeof TargetType.Type

/** What a trigger starts: a workflow or an agent by id, with inputs (the run's input, under what the trigger adds). */
export const Target = Schema.Struct({
  type: TargetType,
  id: Text(200),
  inputs: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})
export type Target = typeof Target.Type

/** `POST .../automations` and `PUT .../automations/{id}`. */
export const CreateAutomation = Schema.Struct({
  name: Text(200),
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(2000))),
  trigger: Trigger,
  target: Target,
  /** Default true. */
  enabled: Schema.optionalKey(Schema.Boolean)
})
export type CreateAutomation = typeof CreateAutomation.Type

/** `PATCH .../automations/{id}`: the members given change (`{enabled: false}` disables). */
export const UpdateAutomation = Schema.Struct({
  name: Schema.optionalKey(Text(200)),
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(2000))),
  trigger: Schema.optionalKey(Trigger),
  target: Schema.optionalKey(Target),
  enabled: Schema.optionalKey(Schema.Boolean)
})
export type UpdateAutomation = typeof UpdateAutomation.Type

export const Automation = Schema.Struct({
  id: Schema.String,
  workspace_id: Schema.String,
  name: Schema.String,
  description: Schema.String,
  enabled: Schema.Boolean,
  trigger: Trigger,
  target: Schema.Struct({ type: TargetType, id: Schema.String, inputs: Schema.Record(Schema.String, Schema.Unknown) }),
  created_by: Schema.String,
  created_at: Schema.String,
  updated_at: Schema.String,
  /** When a trigger last started (or tried to start) a run. */
  last_fired_at: Schema.NullOr(Schema.String)
})
export type Automation = typeof Automation.Type

/** How to call a webhook automation; its `secret` is shown once, when it is created. */
export const WebhookDetails = Schema.Struct({
  url: Schema.String,
  secret: Schema.String,
  signature_header: Schema.String
})

/** The created automation; a webhook automation's `webhook` (with its signing secret) only here. */
export const CreatedAutomation = Schema.Struct({
  ...Automation.fields,
  webhook: Schema.optionalKey(WebhookDetails)
})
export type CreatedAutomation = typeof CreatedAutomation.Type

export const AutomationList = Schema.Struct({ data: Schema.Array(Automation) })

/** One time a trigger fired: the run it started, or why it could not. */
export const Firing = Schema.Struct({
  id: Schema.String,
  automation_id: Schema.String,
  trigger: Schema.Literals(["cron", "webhook", "event"]),
  run_id: Schema.NullOr(Schema.String),
  error: Schema.NullOr(Schema.String),
  created_at: Schema.String
})
export type Firing = typeof Firing.Type

export const FiringList = Schema.Struct({ data: Schema.Array(Firing) })

/** `POST /api/v1/webhooks/incoming` answers 202 with the runs it started (`replayed`: a delivery seen before; nothing new started). */
export const WebhookAccepted = Schema.Struct({
  automation_id: Schema.String,
  run_ids: Schema.Array(Schema.String),
  replayed: Schema.Boolean
})
export type WebhookAccepted = typeof WebhookAccepted.Type

/** The webhook's body: a JSON object, the runs' input. */
export const WebhookBody = Schema.Record(Schema.String, Schema.Unknown)
