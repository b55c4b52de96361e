import type { DistressConfig } from './config.ts';
import { matchDistress } from './distress.ts';
import { GENTLE_INTENTS, INTENTS, type Intent } from './intents.ts';
import { asRead, type Script, scriptOf } from './script.ts';
import { TimeoutError, withTimeout } from './timeout.ts';

/**
 * The learned post reader as the core sees it: the composition root hands the core one (worker/engine/postReader.ts),
 * or none, and the core then reads with the distress patterns alone.
 */
export interface PostReader {
  readonly labels: readonly string[];
  readonly threshold: number;
  read(post: string): Promise<{ probs: number[]; distress: number; subject?: string }>;
}

/** Why a post counts as distress: a `distress.patterns` entry, or the reader's distress output over its threshold. */
export type DistressSignal = { by: 'pattern'; pattern: string } | { by: 'reader'; score: number };

/** What the core knows of a post before it decides anything. */
export interface Reading {
  /** The reader's intent, undefined when no reader answered (none loaded, failed, or too slow). */
  intent?: Intent;
  /** What the post is about, a short span of it (in Simplified), for the praise step. */
  subject?: string;
  distress?: DistressSignal;
  /** The script the person wrote in: the reply is given in it. */
  script: Script;
}

/** What went wrong when the reader could not read a post; the patterns decided alone. */
export type ReaderMiss = 'failed' | 'timeout';

export interface ReadOptions {
  reader?: PostReader;
  distress: Pick<DistressConfig, 'patterns' | 'exceptions'>;
  /** How long a post may wait for the reader before the patterns decide alone. */
  timeoutMs: number;
  onMiss?: (why: ReaderMiss, err?: Error) => void;
}

/** Characters the reader reads: a longer post is read by its start and its end (the model keeps both too). */
const MAX_READ_CHARS = 600;

function clip(text: string): string {
  const chars = [...text];
  return chars.length <= MAX_READ_CHARS ? text : [...chars.slice(0, MAX_READ_CHARS / 2), '…', ...chars.slice(-MAX_READ_CHARS / 2)].join('');
}

/**
 * Cheering a sad post is worse than comforting a happy one: when the gentle intents (setback, sad, tired or wronged,
 * anxious) together hold at least this much, the likeliest of them is taken even if another intent is likelier.
 * 0.3 comforted far more good news than it saved sad posts from cheer; 0.4 was judged blind better on the 39 replies
 * it changed (QUALITY.md, round v24; models/kuakua-reader/README.md, "Unsure").
 */
const GENTLE_FLOOR = 0.4;

/** The intent label to act on. */
function bestIntent(labels: readonly string[], probs: number[]): string | undefined {
  const ranked = probs.map((p, i) => ({ label: labels[i]!, p })).sort((a, b) => b.p - a.p);
  const gentle = ranked.filter((r) => (GENTLE_INTENTS as readonly string[]).includes(r.label));
  const gentleMass = gentle.reduce((sum, r) => sum + r.p, 0);
  return (gentleMass >= GENTLE_FLOOR ? gentle[0] : ranked[0])?.label;
}

/**
 * What needs no model: the script the post is written in, and a `distress.patterns` match, which is distress whatever
 * the reader says (the floor that works with no reader at all).
 */
export async function readWords(text: string, distress: ReadOptions['distress']): Promise<Reading> {
  const script = await scriptOf(text);
  const pattern = matchDistress(text, distress.patterns, distress.exceptions);
  return { script, ...(pattern !== undefined && { distress: { by: 'pattern', pattern } }) };
}

/**
 * Adds what the post reader says to what the words said: the intent, the subject, and distress in words no pattern
 * lists. A Traditional post is read in Simplified, which is what the models know. Without a reader, or when it fails
 * or is slower than `timeoutMs`, the words' reading stands.
 */
export async function readWithModel(text: string, words: Reading, o: ReadOptions): Promise<Reading> {
  const input = clip(asRead(text, words.script)).trim();
  if (!o.reader || !input) return words;
  let out: Awaited<ReturnType<PostReader['read']>>;
  try {
    out = await withTimeout(o.reader.read(input), o.timeoutMs);
  } catch (err) {
    if (err instanceof TimeoutError) o.onMiss?.('timeout');
    else o.onMiss?.('failed', err as Error);
    return words;
  }
  const best = bestIntent(o.reader.labels, out.probs);
  const intent = INTENTS.find((i) => i === best);
  return {
    ...words,
    ...(intent && { intent }),
    ...(out.subject && { subject: out.subject }),
    ...(!words.distress && out.distress >= o.reader.threshold && { distress: { by: 'reader', score: out.distress } }),
  };
}

/** Both readings at once, for a post that is certainly addressed to the bot (`kuakua praise`, the eval). */
export async function readPost(text: string, o: ReadOptions): Promise<Reading> {
  return readWithModel(text, await readWords(text, o.distress), o);
}
