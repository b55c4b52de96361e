import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Intent } from './intents.ts';
import { parseJson, readJsonLines } from './jsonLines.ts';
import { toSimplified } from './script.ts';
import type { Tone } from './tone.ts';

/**
 * Topic frames (data/frames/topics/README.md): frames whose wit is the world of the post's topic (脂肪连夜收拾行李 for
 * a run) rather than the quoting itself, written per topic and mood. A post names its topic by a keyword.
 */

/**
 * What a frame answers within a topic: good news or a step taken, worry before something, or a post told with a laugh
 * (a win or a confession alike). A setback or sadness keeps its intent's frames: read blind, topic frames that
 * comforted lost to them (data/frames/topics/README.md).
 */
export const MOODS = ['cheer', 'worry', 'joke'] as const;
export type Mood = (typeof MOODS)[number];

export const TOPIC_ID = /^[a-z][a-z_]*$/;

export const topicFrameSchema = z.strictObject({
  topic: z.string().regex(TOPIC_ID),
  mood: z.enum(MOODS),
  text: z.string(),
});

export const topicKeywordsSchema = z.record(
  z.string().regex(TOPIC_ID),
  z.strictObject({
    name: z.string().min(1),
    keywords: z.array(z.string().min(1)).min(1),
    /** Phrases that hold a keyword and mean something else (单身狗 for 狗). */
    not: z.array(z.string().min(1)).default([]),
  }),
);

export interface Topic {
  id: string;
  name: string;
  /** Lower-cased, as the phrase is before it is matched. */
  keywords: readonly string[];
  not: readonly string[];
  frames: Readonly<Record<Mood, readonly string[]>>;
}

const KEYWORDS_FILE = /\.keywords\.json$/;

/**
 * The topics of `dir` (its `*.keywords.json` and `*.jsonl` files), each with its valid frames; none when `dir` does not
 * exist. `isFrame` decides what a valid frame text is (src/frames.ts). A keywords file that is not valid is left out
 * with its topics, so that the intent frames still load; the checker (tools/frames/check.ts) reports it.
 */
export function loadTopics(dir: string, isFrame: (text: string) => boolean): Topic[] {
  if (!existsSync(dir)) return [];
  const topics = new Map<string, Topic & { frames: Record<Mood, string[]> }>();
  for (const file of readdirSync(dir)
    .filter((f) => KEYWORDS_FILE.test(f))
    .sort()) {
    const parsed = topicKeywordsSchema.safeParse(parseJson(readFileSync(join(dir, file), 'utf8')));
    if (!parsed.success) continue;
    for (const [id, t] of Object.entries(parsed.data)) {
      const lower = (words: string[]) => words.map((w) => w.toLowerCase());
      topics.set(id, { id, name: t.name, keywords: lower(t.keywords), not: lower(t.not), frames: { cheer: [], worry: [], joke: [] } });
    }
  }
  for (const { raw } of readJsonLines(dir)) {
    const frame = topicFrameSchema.safeParse(raw);
    if (frame.success && isFrame(frame.data.text)) topics.get(frame.data.topic)?.frames[frame.data.mood].push(frame.data.text);
  }
  return [...topics.values()];
}

const MOOD_OF_INTENT: Record<Intent, Mood | undefined> = {
  achievement: 'cheer',
  effort: 'cheer',
  daily_win: 'cheer',
  made_shown: 'cheer',
  kindness: 'cheer',
  courage: 'cheer',
  // A party is its own world, and bad news is comforted: the intent's frames answer them.
  celebration: undefined,
  joke: 'joke',
  setback: undefined,
  sad: undefined,
  tired_wronged: undefined,
  anxious: 'worry',
};

const MOOD_OF_TONE: Record<Tone, Mood | undefined> = {
  sad: undefined,
  anxious: 'worry',
  encourage: 'worry',
  birthday: undefined,
  achievement: 'cheer',
  neutral: 'cheer',
};

/** The mood a topic frame must have: from the reader's intent, else from the tone of the words. */
export function moodOf(intent: Intent | undefined, tone: Tone): Mood | undefined {
  return intent ? MOOD_OF_INTENT[intent] : MOOD_OF_TONE[tone];
}

/** Where the first keyword of `topic` stands in `text` (lower-cased), once its `not` phrases are blanked out; -1 for none. */
function firstKeyword(text: string, topic: Topic): number {
  const plain = topic.not.reduce((t, n) => t.split(n).join(' '.repeat(n.length)), text);
  const at = topic.keywords.map((k) => plain.indexOf(k)).filter((i) => i >= 0);
  return at.length > 0 ? Math.min(...at) : -1;
}

/**
 * The topic of a post: the one named first in the phrase it quotes (read in Simplified), undefined when that phrase
 * names none. A topic named elsewhere in the post is not taken: the frame speaks of the phrase it quotes.
 */
export function topicOf(phrase: string, topics: readonly Topic[]): Topic | undefined {
  const text = toSimplified(phrase).toLowerCase();
  let best: { topic: Topic; at: number } | undefined;
  for (const topic of topics) {
    const at = firstKeyword(text, topic);
    if (at >= 0 && (!best || at < best.at)) best = { topic, at };
  }
  return best?.topic;
}
