import { resolve } from 'node:path';
import { z } from 'zod';
import { INTENTS } from './intents.ts';
import { readJsonLines } from './jsonLines.ts';

/**
 * Praise frames written for kuakua (data/frames/README.md): a praise in an intent's voice with one slot, 「{q}」, for a
 * phrase quoted from the post (src/quote.ts). They answer a post in its own words when no generated or retrieved
 * praise is good enough.
 */
export const SLOT = '「{q}」';

/** What a frame is written for: a post of one intent, or a birthday (a celebration that says 生日). */
export const FRAME_KINDS = [...INTENTS, 'birthday'] as const;
export type FrameKind = (typeof FRAME_KINDS)[number];

export const frameSchema = z.strictObject({
  kind: z.enum(FRAME_KINDS),
  text: z
    .string()
    .max(80)
    .refine((t) => t.split(SLOT).length === 2, { message: `holds ${SLOT} exactly once` }),
});
export type Frame = z.infer<typeof frameSchema>;

/** The valid frames of `dir` by kind; invalid lines are the checker's business. */
export function loadFrames(dir: string): Map<FrameKind, string[]> {
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

export type Frames = ReadonlyMap<FrameKind, readonly string[]>;

/** The frames of `dir` (relative to the working directory, as config paths are; "" for none); a directory that cannot be read leaves the tone replies alone, with a warning. */
export function loadFramesOrWarn(dir: string, log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void }): Frames | undefined {
  if (!dir) return undefined;
  try {
    const frames = loadFrames(resolve(dir));
    log.info({ dir, frames: [...frames.values()].reduce((n, l) => n + l.length, 0) }, 'praise frames loaded');
    return frames;
  } catch (err) {
    log.warn({ dir, err: (err as Error).message }, 'praise frames not loaded (frames.dir / KUAKUA_FRAMES_DIR): tone replies only');
    return undefined;
  }
}
