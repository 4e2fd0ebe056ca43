/**
 * The review state of a ticket, derived from its comment thread as SessionFS defines it
 * (`services/review_state.py`): rounds opened by `codex-reviewer` comments shaped
 *
 *     Codex R{N} review on tk_X: VERDICT
 *     Findings:
 *      - SEVERITY - text
 *     Verified clean / no change needed: ...
 *
 * Findings raised in round N are closed as soon as any later round's verdict is clean;
 * otherwise they stay open. Comments by anyone else are the implementer's side of the thread.
 * Pure: no I/O, so the derivation is tested on its own.
 *
 * Client-safe: imports only the domain.
 */
import type { ReviewFinding, ReviewRound, ReviewState, Severity } from "./Domain.ts"

/** The persona whose comments open review rounds. */
export const reviewerPersona = "codex-reviewer"

export const verdictClean = "VERIFIED-CLEAN"
export const verdictChanges = "CHANGES_REQUESTED"

const headerPattern =
  /^Codex\s+R(\d+)\s+(?:doc\s+)?review\s+on\s+tk_\w+\s*:\s*(VERIFIED[-_]CLEAN|CHANGES[\s_-]+REQUESTED|NO[\s-]+CHANGES[\s-]+NEEDED|APPROVED)/im

const findingPattern = /^[\s]*[•\-*]\s+(CRITICAL|HIGH|MEDIUM|LOW)\s*[—\-:]\s*(.+?)$/gm

/** Where the findings list ends (the reviewer's "verified clean" section and the like). */
const findingsEndPattern =
  /(Verified\s+clean|No\s+change\s+needed|Verification\s+(run|commands)|Out\s+of\s+scope|Residual\s+risk|Cross-checks)/i

export interface ThreadComment {
  readonly id: string
  readonly author_persona: string | null
  readonly content: string
  readonly created_at: string
}

const normalizeVerdict = (raw: string): string => {
  const cleaned = raw.trim().toUpperCase().replace(/[\s_-]+/g, "_")
  return cleaned === "VERIFIED_CLEAN" || cleaned === "NO_CHANGES_NEEDED" || cleaned === "APPROVED"
    ? verdictClean
    : verdictChanges
}

interface Raised {
  readonly severity: Severity
  readonly text: string
  readonly round: number
  readonly raised_at: string
  readonly raised_comment_id: string
}

const parseReview = (comment: ThreadComment): { round: ReviewRound; findings: ReadonlyArray<Raised> } | undefined => {
  const header = headerPattern.exec(comment.content)
  if (header === null) return undefined
  const round = Number(header[1])
  const verdict = normalizeVerdict(header[2])
  const start = header.index + header[0].length
  const rest = comment.content.slice(start)
  const end = findingsEndPattern.exec(rest)
  const block = end === null ? rest : rest.slice(0, end.index)
  const findings: Array<Raised> = []
  for (const match of block.matchAll(findingPattern)) {
    findings.push({
      severity: match[1] as Severity,
      text: match[2].split("\n", 1)[0].trim(),
      round,
      raised_at: comment.created_at,
      raised_comment_id: comment.id
    })
  }
  return {
    round: { round, verdict, comment_id: comment.id, timestamp: comment.created_at, findings_raised: findings.length },
    findings
  }
}

/**
 * The review state of a chronological thread, or `null` when no reviewer comment opened a
 * round (the ticket is not under review).
 */
export const derive = (comments: ReadonlyArray<ThreadComment>): ReviewState | null => {
  const rounds: Array<ReviewRound> = []
  const raised: Array<Raised> = []
  let lastReview: string | null = null
  let lastImplementer: string | null = null
  let latest: string | null = null
  for (const comment of comments) {
    if (latest === null || comment.created_at > latest) latest = comment.created_at
    if (comment.author_persona === reviewerPersona) {
      lastReview = comment.id
      const parsed = parseReview(comment)
      if (parsed !== undefined) {
        rounds.push(parsed.round)
        raised.push(...parsed.findings)
      }
    } else {
      lastImplementer = comment.id
    }
  }
  if (rounds.length === 0) return null

  const sorted = [...rounds].sort((a, b) => a.round - b.round)
  const cleanRounds = sorted.filter((r) => r.verdict === verdictClean)
  const findings: Array<ReviewFinding> = raised.map((f) => {
    const closing = cleanRounds.find((r) => r.round > f.round)
    return { ...f, status: closing === undefined ? "open" : "closed", closed_round: closing?.round ?? null }
  })
  const open = findings.filter((f) => f.status === "open")
  const count = (severity: Severity) => open.filter((f) => f.severity === severity).length
  return {
    open_findings: open,
    closed_findings: findings.filter((f) => f.status === "closed"),
    last_verdict: sorted[sorted.length - 1].verdict,
    severity_counts: { CRITICAL: count("CRITICAL"), HIGH: count("HIGH"), MEDIUM: count("MEDIUM"), LOW: count("LOW") },
    last_review_comment_id: lastReview,
    last_implementer_comment_id: lastImplementer,
    updated_at: latest,
    rounds: sorted
  }
}
