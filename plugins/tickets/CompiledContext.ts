/**
 * The markdown context `start` hands the agent that claimed a ticket, as SessionFS compiles it
 * (seed 001): the ticket, its acceptance criteria and files, the parent issue or child tasks,
 * the completion notes of dependencies already done, and the recent comments, cut to the
 * target tool's budget (`?tool=`). Pure.
 */
import type { Comment, Ticket } from "./Domain.ts"

/** Token budgets per tool (about four characters a token), SessionFS's table. */
export const toolTokenLimits: Readonly<Record<string, number>> = {
  "claude-code": 16000,
  codex: 8000,
  gemini: 8000,
  copilot: 8000,
  cursor: 4000,
  windsurf: 4000,
  cline: 4000,
  "roo-code": 4000,
  amp: 8000,
  bedrock: 16000,
  vertex: 8000,
  generic: 8000
}

export const truncationMarker = "[...truncated to fit tool token limit]"

export interface ContextInput {
  readonly ticket: Ticket
  readonly parent: Pick<Ticket, "id" | "title" | "status"> | null
  readonly children: ReadonlyArray<Pick<Ticket, "id" | "title" | "status">>
  readonly doneDependencies: ReadonlyArray<Pick<Ticket, "id" | "title" | "completion_notes">>
  /** Oldest first. */
  readonly recentComments: ReadonlyArray<Comment>
  readonly tool: string
}

const truncate = (text: string, maxTokens: number): string => {
  const maxChars = maxTokens * 4
  return text.length <= maxChars ? text : `${text.slice(0, maxChars).trimEnd()}\n\n${truncationMarker}`
}

export const compile = (input: ContextInput): string => {
  const { ticket } = input
  let section = `# Current Ticket: ${ticket.title}\n`
  section += `Kind: ${ticket.kind}\n`
  section += `Priority: ${ticket.priority}\n`
  section += `Status: ${ticket.status}\n`
  section += `Lease epoch: ${ticket.lease_epoch}\n`
  if (input.parent !== null) {
    section += `Parent Issue: ${input.parent.id} — ${input.parent.title} (status: ${input.parent.status})\n`
  }
  section += "\n"
  if (ticket.description !== "") section += `## Description\n${ticket.description}\n\n`
  if (ticket.acceptance_criteria.length > 0) {
    section += "## Acceptance Criteria\n" + ticket.acceptance_criteria.map((c) => `- [ ] ${c}\n`).join("") + "\n"
  }
  if (ticket.file_refs.length > 0) {
    section += "## Files to Review/Modify\n" + ticket.file_refs.map((f) => `- ${f}\n`).join("") + "\n"
  }
  if (ticket.context_refs.length > 0) {
    section += "## Context References\n" + ticket.context_refs.map((r) => `- ${r}\n`).join("") + "\n"
  }
  for (const dep of input.doneDependencies) {
    if (dep.completion_notes !== null && dep.completion_notes !== "") {
      section += `## From completed dependency #${dep.id} (${dep.title})\n${dep.completion_notes}\n\n`
    }
  }
  if (ticket.kind === "issue") {
    section += `## Child Tasks (${input.children.length})\n` +
      input.children.map((c) => `- ${c.id} [${c.status}] ${c.title}\n`).join("") + "\n"
  }
  const sections = [section]
  if (input.recentComments.length > 0) {
    sections.push(
      "## Recent Comments\n" +
        input.recentComments.map((c) => `**${c.author_persona ?? "user"}** (${c.created_at.slice(0, 10)}): ${c.content}\n\n`).join("")
    )
  }
  return truncate(sections.join("\n---\n\n"), toolTokenLimits[input.tool] ?? toolTokenLimits.generic)
}
