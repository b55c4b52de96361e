import { type FallbackForm, fallbackPraise } from '../src/fallback.ts';
import type { Frames } from '../src/frames.ts';
import { alike, choosePraise, type ChosenPraise, type PraiseCandidate, type PolicyRules, type Rejection } from '../src/policy.ts';
import type { Intent } from '../src/intents.ts';
import type { PraiseSource } from '../src/queue/contracts.ts';
import { saysNothing } from '../src/quote.ts';
import type { Tone } from '../src/tone.ts';
import type { Engine } from './engine/index.ts';
import { createRng } from './engine/sampling.ts';
import type { PraiseIndex, RetrievalOptions } from './retrieval.ts';

/**
 * Why a tone reply was sent instead of a praise: no candidate scored enough, all were rejected, none came back, or the
 * post says nothing yet (求夸 alone, emoji, digits), where a praise could be about nothing and none is generated.
 */
export type FallbackReason = 'below-threshold' | 'rejected' | 'empty' | 'says-nothing';

export interface PraiseRequest {
  post: string;
  /** The chat's recent replies: never sent again. */
  avoid: string[];
  /** Candidates to sample. */
  n: number;
  maxNewTokens?: number;
  /** Makes the samples, and the tone reply if it comes to that, reproducible. */
  seed?: number;
  /** The post reader's intent: the tone a reply must meet. */
  intent?: Intent;
  /** What the post is about (the post reader's span): retrieved praises name it. */
  subject?: string;
  /** Replies wanted (a chorus): up to this many acceptable candidates, none alike another. Default 1. */
  count?: number;
}

export type PraiseOutcome = {
  text: string;
  newTokens: number;
  generationMs: number;
} & (
  | {
      kind: 'praise';
      source: PraiseSource;
      score: number;
      judge?: number;
      /** The rest of a chorus, best first: each acceptable by the policy, none alike another or the first. */
      also: string[];
    }
  | { kind: 'fallback'; reason: FallbackReason; tone: Tone; form: FallbackForm }
);

export interface PraiseStepOptions {
  rules: PolicyRules;
  /** Fresh samples drawn when no candidate is acceptable, before the tone reply. */
  resampleAttempts: number;
  /** Wraps each engine call (the worker makes it abortable on shutdown). */
  around?: <T>(p: Promise<T>) => Promise<T>;
  onRejected?: (rejected: Rejection[], attempt: number) => void;
  /** Praises from the corpus, judged beside the samples of the first attempt. */
  retrieval?: { index: PraiseIndex; options: RetrievalOptions };
  /** Frames for a reply in the post's own words, tried before a tone template (src/frames.ts). */
  frames?: Frames;
  /** The texts (by textKey) sent their daily maximum already, never sent again today. */
  overused?: (texts: string[]) => Promise<ReadonlySet<string>>;
}

/** The rules when a frame around the post's own words is the alternative: a praise must beat `minScoreOverFrame`. */
function overFrame(rules: PolicyRules): PolicyRules {
  if (rules.minScoreOverFrame === undefined) return rules;
  return { ...rules, minScore: Math.max(rules.minScore ?? Number.NEGATIVE_INFINITY, rules.minScoreOverFrame) };
}

/**
 * Generate, retrieve, judge, choose: samples `n` candidates and offers the corpus praises of the nearest posts, all
 * scored by the engine's judge, takes the best acceptable one by the policy, and otherwise a reply in the post's tone
 * (a frame around its own words, else a template).
 */
export async function praiseStep(engine: Engine, req: PraiseRequest, opts: PraiseStepOptions): Promise<PraiseOutcome> {
  const around = opts.around ?? (<T>(p: Promise<T>) => p);
  const count = req.count ?? 1;
  const random = req.seed === undefined ? Math.random : createRng(req.seed);
  const framing = opts.frames && { frames: opts.frames, subject: req.subject, blocklist: opts.rules.blocklist };
  const fallback = fallbackPraise(req.post, req.avoid, random, req.intent, framing);
  if (saysNothing(req.post)) return { kind: 'fallback', reason: 'says-nothing', ...fallback, newTokens: 0, generationMs: 0 };
  const rules = fallback.form === 'template' ? opts.rules : overFrame(opts.rules);
  let newTokens = 0;
  let generationMs = 0;
  let rejected: Rejection[] = [];
  const chosen: ChosenPraise[] = [];
  // A chorus that is not full after an attempt samples again; the replies already chosen are avoided like history.
  for (let attempt = 0; attempt <= opts.resampleAttempts && chosen.length < count; attempt++) {
    const started = Date.now();
    const seed = req.seed === undefined ? undefined : req.seed + attempt;
    const avoid = [...req.avoid, ...chosen.map((c) => c.text)];
    const retrieved = attempt === 0 && opts.retrieval ? opts.retrieval.index.candidates(req.post, req, opts.retrieval.options) : [];
    const [result] = await around(
      engine.generate([
        {
          post: req.post,
          n: req.n,
          avoid,
          maxNewTokens: req.maxNewTokens,
          seed,
          intent: req.intent,
          subject: req.subject,
          judgeAlso: retrieved.map((r) => r.text),
        },
      ]),
    );
    generationMs += Date.now() - started;
    if (!result) throw new Error('the engine returned no result');
    newTokens += result.newTokens;
    const candidates: PraiseCandidate[] = [
      ...result.scored,
      ...result.alsoJudged.map((c, i) => ({ text: c.text, judge: c.judge, similarity: retrieved[i]!.similarity })),
    ];
    const overused = opts.overused ? await opts.overused(candidates.map((c) => c.text)) : undefined;
    const choice = choosePraise(candidates, avoid, req.post, rules, req.intent, overused, count - chosen.length);
    chosen.push(...choice.chosen.filter((c) => !chosen.some((x) => alike(x.text, c.text))));
    rejected = choice.rejected.map((r) => r.reason);
    if (chosen.length < count) opts.onRejected?.(rejected, attempt);
  }
  const [best, ...rest] = chosen;
  if (best) {
    const source: PraiseSource = best.retrieved ? 'retrieved' : 'generated';
    const also = rest.slice(0, count - 1).map((c) => c.text);
    return { kind: 'praise', source, text: best.text, score: best.score, judge: best.judge, also, newTokens, generationMs };
  }
  const reason: FallbackReason = rejected.length === 0 ? 'empty' : rejected.every((r) => r === 'below-threshold') ? 'below-threshold' : 'rejected';
  return { kind: 'fallback', reason, ...fallback, newTokens, generationMs };
}
