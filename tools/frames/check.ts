/**
 * Checks the praise frames (data/frames/*.jsonl, and the topic frames of data/frames/topics) against the rules their
 * writers were given (data/frames/README.md, data/frames/topics/README.md).
 *
 *   node --import tsx tools/frames/check.ts [FILE|DIR ...]   (default: data/frames and data/frames/topics)
 *
 * Near-duplicates are looked for across all the files named. Prints one line per problem and a JSON summary; exits 1
 * when there is any problem.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { BRIGHT_SPOT_KINDS, type BrightSpotKind, FRAME_KINDS, type FrameKind, SLOT, frameSchema, isFrameText } from '../../src/frames.ts';
import { parseJson, readJsonLines } from '../../src/jsonLines.ts';
import { alike } from '../../src/policy.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { clashesWithTone, type Tone, toneOf } from '../../src/tone.ts';
import { MOODS, type Mood, topicFrameSchema, topicKeywordsSchema } from '../../src/topicFrames.ts';

const MIN_CHARS = 12;
const MAX_CHARS = 45;
/**
 * The fewest frames of each mood a topic needs (data/frames/topics/README.md); a topic without joke frames leaves a
 * joke to the intent's frames.
 */
const MIN_PER_MOOD: Record<Mood, number> = { cheer: 12, worry: 4, joke: 0 };
/** Gender, age, relations and facts a frame cannot know of an unknown post. */
const ASSUMED = /他|她|姐妹|兄弟|小姐姐|小哥哥|美女|帅哥|女神|男神|宝宝|孩子|岁/;
const NOT_ALLOWED: { pattern: RegExp; why: string }[] = [
  { pattern: ASSUMED, why: 'assumes gender, age or a relation' },
  { pattern: /\p{Extended_Pictographic}/u, why: 'an emoji' },
  { pattern: /[a-zA-Z]/, why: 'Latin letters' },
  { pattern: /[\r\n]/, why: 'a line break' },
];

const isBrightSpot = (kind: FrameKind): kind is BrightSpotKind => (BRIGHT_SPOT_KINDS as readonly string[]).includes(kind);

/** The tone a frame of each kind must fit: its intent's, a birthday's, or a setback's for its bright spots. */
function toneOfKind(kind: FrameKind): Tone {
  if (kind === 'birthday' || kind === 'birthday_alone') return 'birthday';
  if (isBrightSpot(kind)) return 'sad';
  return toneOf('', kind);
}

/** The tone a topic frame of each mood must fit. */
const TONE_OF_MOOD: Record<Mood, Tone> = { cheer: 'neutral', worry: 'anxious', joke: 'neutral' };

/** A schema's complaints, on one line. */
function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ');
}

const { positionals } = parseArgs({ allowPositionals: true });
const framesDir = join(PROJECT_ROOT, 'data/frames');
const paths = positionals.length > 0 ? positionals : [framesDir, join(framesDir, 'topics')];
const lines = paths.flatMap((f) => (f.endsWith('.jsonl') ? readJsonLines(dirname(f)).filter((l) => l.file === basename(f)) : readJsonLines(f)));
const keywordFiles = [...new Set(paths.map((p) => (p.endsWith('.jsonl') ? dirname(p) : p)))].flatMap((dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.keywords.json'))
        .map((f) => join(dir, f))
    : [],
);

const problems: string[] = [];
const kept: { at: string; words: string }[] = [];
const counts: Record<string, number> = {};

const topics = new Map<string, { file: string; keywords: string[] }>();
for (const file of keywordFiles) {
  const parsed = topicKeywordsSchema.safeParse(parseJson(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    problems.push(`${basename(file)}: ${issues(parsed.error)}`);
    continue;
  }
  for (const [id, t] of Object.entries(parsed.data)) {
    if (topics.has(id)) problems.push(`${basename(file)}: topic ${id} also in ${topics.get(id)!.file}`);
    for (const k of t.keywords)
      for (const [other, o] of topics) if (o.keywords.includes(k)) problems.push(`${basename(file)}: keyword ${k} of ${id} is also one of ${other}`);
    topics.set(id, { file: basename(file), keywords: t.keywords });
  }
}
const perTopic: Record<string, Record<Mood, number>> = {};

/** The rules every frame is held to, whatever it was written for; `tone` is the post it must fit. */
function checkWords(at: string, text: string, tone: Tone, what: string): void {
  const words = text.replace(SLOT, '');
  const chars = Array.from(words).length;
  if (chars < MIN_CHARS || chars > MAX_CHARS) problems.push(`${at}: ${chars} characters without the slot (${MIN_CHARS}-${MAX_CHARS})`);
  for (const { pattern, why } of NOT_ALLOWED) if (pattern.test(words)) problems.push(`${at}: ${why}`);
  // The same rule the policy holds every reply to (comfort, no laughter, for a gentle post; 生日 only for a birthday),
  // for a post of this kind that says nothing else.
  if (clashesWithTone(words, tone)) problems.push(`${at}: does not fit a ${what} post (comfort and no laughter when gentle, 生日 only on a birthday)`);
  if (tone === 'birthday' && !/生日/.test(words)) problems.push(`${at}: a birthday frame without 生日`);
  const twin = kept.find((k) => alike(k.words, words));
  if (twin) problems.push(`${at}: alike ${twin.at}`);
  kept.push({ at, words });
}

for (const { file, line, raw } of lines) {
  const at = `${file}:${line}`;
  if (typeof raw === 'object' && raw !== null && 'topic' in raw) {
    const parsed = topicFrameSchema.safeParse(raw);
    if (!parsed.success || !isFrameText(parsed.data.text)) {
      problems.push(`${at}: not a topic frame ({"topic", "mood", "text"} with ${SLOT} once)`);
      continue;
    }
    const { topic, mood, text } = parsed.data;
    if (!topics.has(topic)) problems.push(`${at}: topic ${topic} has no keywords`);
    if (/\d/.test(text)) problems.push(`${at}: a digit`);
    perTopic[topic] ??= { cheer: 0, worry: 0, joke: 0 };
    perTopic[topic][mood] += 1;
    checkWords(at, text, TONE_OF_MOOD[mood], `${topic} ${mood}`);
    continue;
  }
  const parsed = frameSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(`${at}: ${issues(parsed.error)}`);
    continue;
  }
  const { kind, text } = parsed.data;
  counts[kind] = (counts[kind] ?? 0) + 1;
  checkWords(at, text, toneOfKind(kind), kind);
}
for (const id of topics.keys()) {
  for (const mood of MOODS) {
    const n = perTopic[id]?.[mood] ?? 0;
    if (n < MIN_PER_MOOD[mood]) problems.push(`topic ${id}: ${n} ${mood} frames (at least ${MIN_PER_MOOD[mood]})`);
  }
}
for (const line of problems) console.log(line);
console.log(
  JSON.stringify({
    frames: kept.length,
    problems: problems.length,
    byKind: Object.fromEntries(FRAME_KINDS.map((k) => [k, counts[k] ?? 0])),
    byTopic: perTopic,
  }),
);
process.exitCode = problems.length > 0 ? 1 : 0;
