import { join, resolve } from 'node:path';
import { z } from 'zod';
import { INTENTS } from './intents.ts';
import { readJsonLines } from './jsonLines.ts';
import { loadTopics, type Topic } from './topicFrames.ts';

/**
 * Praise frames written for kuakua (data/frames/README.md): a praise in an intent's voice with one slot, 「{q}」, for a
 * phrase quoted from the post (src/quote.ts). They answer a post in its own words when no generated or retrieved
 * praise is good enough.
 */
export const SLOT = '「{q}」';

/**
 * The bright spots a setback's post can name (src/brightSpots.ts): its next step, how near it came, what was put in,
 * the years had with what was lost. Their frames comfort, as a setback's do.
 */
export const BRIGHT_SPOT_KINDS = ['resolve', 'near', 'spent', 'bond'] as const;
export type BrightSpotKind = (typeof BRIGHT_SPOT_KINDS)[number];

/**
 * What a frame is written for: a post of one intent, a birthday (a celebration that says 生日) or one spent alone
 * (src/tone.ts), or a bright spot.
 */
export const FRAME_KINDS = [...INTENTS, 'birthday', 'birthday_alone', ...BRIGHT_SPOT_KINDS] as const;
export type FrameKind = (typeof FRAME_KINDS)[number];

const frameText = z
  .string()
  .max(80)
  .refine((t) => t.split(SLOT).length === 2, { message: `holds ${SLOT} exactly once` });

export const frameSchema = z.strictObject({ kind: z.enum(FRAME_KINDS), text: frameText });
export type Frame = z.infer<typeof frameSchema>;

/** A frame's text: at most 80 characters, the slot once (topic frames are held to it too). */
export function isFrameText(text: string): boolean {
  return frameText.safeParse(text).success;
}

/** The frames of a directory: by intent (its `.jsonl` files) and by topic (its `topics/`). */
export interface Frames {
  byKind: ReadonlyMap<FrameKind, readonly string[]>;
  topics: readonly Topic[];
}

/** The valid frames of `dir`; invalid lines are the checker's business. */
export function loadFrames(dir: string): Frames {
  return { byKind: framesByKind(dir), topics: loadTopics(join(dir, 'topics'), isFrameText) };
}

function framesByKind(dir: string): Map<FrameKind, string[]> {
  const byKind = new Map<FrameKind, string[]>();
  for (const { raw } of readJsonLines(dir)) {
    const frame = frameSchema.safeParse(raw);
    if (!frame.success) continue;
    const list = byKind.get(frame.data.kind);
    if (list) list.push(frame.data.text);
    else byKind.set(frame.data.kind, [frame.data.text]);
  }
  return byKind;
}

/** The frame with the phrase put in its slot. */
export function fillFrame(frame: string, phrase: string): string {
  return frame.replace(SLOT, `「${phrase}」`);
}

/** The frames of `dir` (relative to the working directory, as config paths are; "" for none); a directory that cannot be read leaves the tone replies alone, with a warning. */
export function loadFramesOrWarn(dir: string, log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void }): Frames | undefined {
  if (!dir) return undefined;
  try {
    const frames = loadFrames(resolve(dir));
    const count = (lists: Iterable<readonly string[]>) => [...lists].reduce((n, l) => n + l.length, 0);
    log.info({ dir, frames: count(frames.byKind.values()), topicFrames: count(frames.topics.flatMap((t) => Object.values(t.frames))) }, 'praise frames loaded');
    return frames;
  } catch (err) {
    log.warn({ dir, err: (err as Error).message }, 'praise frames not loaded (frames.dir / KUAKUA_FRAMES_DIR): tone replies only');
    return undefined;
  }
}
