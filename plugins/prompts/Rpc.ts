/**
 * The prompts plugin's RPC contract, served at `/rpc` (tags prefixed `prompts.`): the main
 * operations of the HTTP API, with the same requirements, for typed clients. Client-safe.
 */
import { Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"
import { Requirement, Requires, RpcAuthentication } from "trellis/contract"
import {
  CreatePrompt,
  Prompt,
  PromptVersion,
  Rollout,
  RolloutInput,
  SdkPrompt,
  UpdatePrompt,
  VersionRef
} from "./Domain.ts"
import {
  InvalidRollout,
  PromptKeyTaken,
  PromptNotFound,
  PublishedPromptNotFound,
  VersionNotFound,
  VersionOfAnotherPrompt
} from "./Errors.ts"

const read = Requirement.read("prompts")
const write = Requirement.write("prompts")
const publish = Requirement.custom("editor", "prompts:publish")

export class PromptsRpcs extends RpcGroup.make(
  Rpc.make("prompts.List", {
    payload: {
      q: Schema.optionalKey(Schema.String),
      env: Schema.optionalKey(Schema.String),
      category: Schema.optionalKey(Schema.String),
      tag: Schema.optionalKey(Schema.String),
      workspace: Schema.optionalKey(Schema.String)
    },
    success: Schema.Array(Prompt)
  }).annotate(Requires, read),
  Rpc.make("prompts.Get", {
    payload: { id: Schema.String },
    success: Prompt,
    error: PromptNotFound
  }).annotate(Requires, read),
  Rpc.make("prompts.Create", {
    payload: CreatePrompt,
    success: Prompt,
    error: PromptKeyTaken
  }).annotate(Requires, write),
  Rpc.make("prompts.Update", {
    payload: { id: Schema.String, changes: UpdatePrompt },
    success: Prompt,
    error: Schema.Union([PromptNotFound, PromptKeyTaken])
  }).annotate(Requires, write),
  Rpc.make("prompts.Delete", {
    payload: { id: Schema.String },
    error: PromptNotFound
  }).annotate(Requires, write),
  Rpc.make("prompts.Versions", {
    payload: { id: Schema.String },
    success: Schema.Array(PromptVersion),
    error: PromptNotFound
  }).annotate(Requires, read),
  Rpc.make("prompts.Publish", {
    payload: { id: Schema.String, note: Schema.optionalKey(Schema.String) },
    success: PromptVersion,
    error: PromptNotFound
  }).annotate(Requires, publish),
  Rpc.make("prompts.Rollback", {
    payload: { id: Schema.String, version: VersionRef },
    success: Prompt,
    error: Schema.Union([PromptNotFound, VersionNotFound, VersionOfAnotherPrompt])
  }).annotate(Requires, publish),
  Rpc.make("prompts.GetRollout", {
    payload: { id: Schema.String },
    success: Schema.NullOr(Rollout),
    error: PromptNotFound
  }).annotate(Requires, read),
  Rpc.make("prompts.SetRollout", {
    payload: { id: Schema.String, rollout: RolloutInput },
    success: Rollout,
    error: Schema.Union([PromptNotFound, InvalidRollout])
  }).annotate(Requires, publish),
  Rpc.make("prompts.DeleteRollout", {
    payload: { id: Schema.String },
    error: PromptNotFound
  }).annotate(Requires, publish),
  Rpc.make("prompts.Fetch", {
    payload: {
      key: Schema.String,
      env: Schema.optionalKey(Schema.String),
      workspace: Schema.optionalKey(Schema.String),
      sticky_key: Schema.optionalKey(Schema.String)
    },
    success: SdkPrompt,
    error: PublishedPromptNotFound
  }).annotate(Requires, read)
).middleware(RpcAuthentication) {}
