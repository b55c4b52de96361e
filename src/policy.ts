import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { Platform } from './events.ts';
import type { RedisKeys } from './queue/contracts.ts';
import { textKey } from '../common/textKey.ts';
import type { Intent } from './intents.ts';
import { clashesWithTone, toneOf } from './tone.ts';
import { escapeRegExp, normalizeText } from './triggers.ts';

export interface PolicyRules {
  blocklist: string[];
  minChars: number;
  maxChars: number;
  /** How a candidate's predicted blind score (1–5) is made from what the engine knows of it. */
  weights: ScoreWeights;
  /** The same prediction for a praise retrieved from the corpus, which has no log-probability but a similarity. */
  retrievedWeights: RetrievedScoreWeights;
  /** A candidate whose predicted score is below this is never used (absent: no threshold). */
  minScore?: number;
  /** When a frame can quote the post, a candidate predicted below this loses to the frame (absent: minScore alone). */
  minScoreOverFrame?: number;
}

/**
 * A linear model of the blind judgement (JUDGING.md's 1–5 score) of a generated reply: bias + logprob × the
 * generator's mean log-probability per token + judge × the judge's logit + chars × the reply's length. The weights
 * were fit on blind-judged candidates (QUALITY.md); a missing judge logit counts as 0.
 */
export interface ScoreWeights {
  bias: number;
  logprob: number;
  judge: number;
  chars: number;
}

/**
 * A retrieved praise's predicted blind score: bias + judge × the judge's logit + similarity × how close its corpus
 * post is to this one (0–1) + chars × its length.
 */
export interface RetrievedScoreWeights {
  bias: number;
  judge: number;
  similarity: number;
  chars: number;
}

/** The policy rules of a config's `policy` section. */
export function policyRules(policy: Config['policy']): PolicyRules {
  return {
    blocklist: policy.blocklist,
    minChars: policy.minReplyChars,
    maxChars: policy.maxReplyChars,
    weights: policy.score,
    retrievedWeights: policy.retrievedScore,
    minScore: policy.minScore,
    minScoreOverFrame: policy.minScoreOverFrame,
  };
}

/** `alike`: mostly the same as a reply already chosen for the same chorus. */
export type Rejection = 'too-short' | 'blocked' | 'repeat' | 'overused' | 'echo' | 'off-tone' | 'below-threshold' | 'alike';

/** A sampled reply and what the engine knows of it. */
export interface PraiseCandidate {
  text: string;
  /** The generator's mean log-probability per generated token. */
  logprob?: number;
  /** The reply judge's logit for (post, text). */
  judge?: number;
  /** Set for a praise retrieved from the corpus: its post's similarity to this one. */
  similarity?: number;
}

const SENTENCE_END = /[。！!？?～~…]/;
const LATIN_WORD = /^[a-z0-9' ]+$/i;

// A run of one punctuation mark or emoji longer than three ("！！！！！！…"), which small models love.
const LONG_RUN = /([\p{P}\p{S}])\1{3,}/gu;

/**
 * Whitespace collapsed, invisible characters removed, runs of one mark cut to three, then cut at a sentence end to
 * at most maxChars characters.
 */
export function tidyAndCutReply(text: string, maxChars: number): string {
  const chars = Array.from(normalizeText(text).replace(/\s+/g, ' ').replace(LONG_RUN, '$1$1$1').trim());
  if (chars.length <= maxChars) return chars.join('');
  const cut = chars.slice(0, maxChars);
  for (let i = cut.length - 1; i >= maxChars / 2; i--) if (SENTENCE_END.test(cut[i]!)) return cut.slice(0, i + 1).join('');
  return cut.join('');
}

/** The blocklist entry the text contains, if any. Latin words match whole words; Chinese entries match even when split by spaces or symbols. */
export function blockedWord(text: string, blocklist: string[]): string | undefined {
  const lower = text.toLowerCase();
  const squeezed = textKey(text);
  return blocklist.find((word) =>
    LATIN_WORD.test(word) ? new RegExp(`(^|[^a-z0-9])${escapeRegExp(word.toLowerCase())}($|[^a-z0-9])`, 'i').test(lower) : squeezed.includes(textKey(word)),
  );
}

/** Longest run of characters two texts share. */
function longestShared(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  let best = 0;
  let prev = new Array<number>(y.length + 1).fill(0);
  for (let i = 1; i <= x.length; i++) {
    const row = new Array<number>(y.length + 1).fill(0);
    for (let j = 1; j <= y.length; j++) {
      if (x[i - 1] !== y[j - 1]) continue;
      const run = prev[j - 1]! + 1;
      row[j] = run;
      best = Math.max(best, run);
    }
    prev = row;
  }
  return best;
}

/** The reply mostly repeats the post: more than 60% of it is one run of the post's text (or it is the post). */
export function echoesPost(reply: string, post: string): boolean {
  const r = textKey(reply);
  const p = textKey(post);
  if (!r || !p) return false;
  const shared = longestShared(r, p);
  return shared === Array.from(p).length || (shared >= 4 && shared > 0.6 * Array.from(r).length);
}

/** The candidate's predicted blind score (ScoreWeights). */
function candidateScore(c: PraiseCandidate, rules: PolicyRules): number {
  const chars = Array.from(c.text.trim()).length;
  if (c.similarity !== undefined) {
    const r = rules.retrievedWeights;
    return r.bias + r.judge * (c.judge ?? 0) + r.similarity * c.similarity + r.chars * chars;
  }
  const w = rules.weights;
  return w.bias + w.logprob * (c.logprob ?? 0) + w.judge * (c.judge ?? 0) + w.chars * chars;
}

/** The candidates as they would be sent (tidied and cut), each with its predicted score, best first. */
export function rankCandidates(candidates: PraiseCandidate[], rules: PolicyRules): { c: PraiseCandidate; text: string; score: number }[] {
  return candidates
    .map((c, i) => ({ c, i, text: tidyAndCutReply(c.text, rules.maxChars) }))
    .map((x) => ({ ...x, score: candidateScore({ ...x.c, text: x.text }, rules) }))
    .sort((a, b) => b.score - a.score || a.i - b.i);
}

/** A candidate the policy chose, as it is sent. */
export interface ChosenPraise {
  text: string;
  score: number;
  judge?: number;
  retrieved: boolean;
}

/** Two replies of one chorus are alike when one is mostly the other: a shared run of over half the shorter one. */
export function alike(a: string, b: string): boolean {
  const x = textKey(a);
  const y = textKey(b);
  return longestShared(x, y) > 0.5 * Math.min(Array.from(x).length, Array.from(y).length);
}

/**
 * The best-scored candidate that is long enough, clean, not one of the chat's recent replies, not sent too often
 * today across all chats, not an echo of the post, not laughing or celebrating at a sad or anxious post, and not
 * predicted to score below `minScore`; with `count` above 1 (a chorus), up to that many such candidates, best first,
 * none alike another.
 */
export function choosePraise(
  candidates: PraiseCandidate[],
  avoid: string[],
  post: string,
  rules: PolicyRules,
  /** The post reader's intent; without one the tone comes from the post's words. */
  intent?: Intent,
  /** Texts (by textKey) sent their daily maximum already (src/variety.ts). */
  overused: ReadonlySet<string> = new Set(),
  count = 1,
): { reply?: string; score?: number; judge?: number; retrieved?: boolean; chosen: ChosenPraise[]; rejected: { text: string; reason: Rejection }[] } {
  const recent = new Set(avoid.map(textKey));
  const tone = toneOf(post, intent);
  const chosen: ChosenPraise[] = [];
  const rejected: { text: string; reason: Rejection }[] = [];
  for (const { c, text, score } of rankCandidates(candidates, rules)) {
    if (chosen.length >= count) break;
    let reason: Rejection | undefined;
    // Laughter alone (哈哈哈哈) says nothing: it counts as no text.
    if (Array.from(textKey(text).replace(/[哈呵嘻嘿]/g, '')).length < Math.max(1, rules.minChars)) reason = 'too-short';
    else if (blockedWord(text, rules.blocklist)) reason = 'blocked';
    else if (recent.has(textKey(text))) reason = 'repeat';
    else if (overused.has(textKey(text))) reason = 'overused';
    else if (echoesPost(text, post)) reason = 'echo';
    else if (clashesWithTone(text, tone)) reason = 'off-tone';
    else if (rules.minScore !== undefined && score < rules.minScore) reason = 'below-threshold';
    else if (chosen.some((x) => alike(x.text, text))) reason = 'alike';
    if (reason) rejected.push({ text, reason });
    else chosen.push({ text, score, judge: c.judge, retrieved: c.similarity !== undefined });
  }
  const [best] = chosen;
  return best ? { reply: best.text, score: best.score, judge: best.judge, retrieved: best.retrieved, chosen, rejected } : { chosen, rejected };
}

/** The chat's last N replies, newest first, shared by all workers and bots through Redis. */
export class PraiseHistory {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly size: number,
  ) {}

  async recent(platform: Platform, chatId: string): Promise<string[]> {
    if (this.size <= 0) return [];
    return this.redis.lrange(this.keys.history(platform, chatId), 0, this.size - 1);
  }

  async add(platform: Platform, chatId: string, reply: string): Promise<void> {
    if (this.size <= 0) return;
    const key = this.keys.history(platform, chatId);
    await this.redis
      .multi()
      .lpush(key, reply)
      .ltrim(key, 0, this.size - 1)
      .expire(key, 30 * 86400)
      .exec();
  }
}
