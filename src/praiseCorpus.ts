import { createHash } from 'node:crypto';
import { z } from 'zod';
import { INTENTS } from './intents.ts';
import { readJsonLines } from './jsonLines.ts';
import { SCRIPTS } from './script.ts';

/**
 * The praise corpus written for kuakua (data/praise/README.md): posts, each with praises in several voices. The
 * checker (tools/praise), the trainers (through the checker's export) and the worker's retrieval read it through
 * this schema.
 */
export const VOICES = ['rainbow', 'pun', 'detail', 'tease', 'comfort'] as const;
export type Voice = (typeof VOICES)[number];

export const corpusRowSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9]+-\d{4}$/),
  situation: z.string().regex(/^[a-z_]+\.[a-z0-9-]+$/),
  post: z.string().min(4).max(200),
  intent: z.enum(INTENTS),
  subject: z.string().min(1).max(12),
  script: z.enum(SCRIPTS),
  praises: z
    .array(z.strictObject({ voice: z.enum(VOICES), text: z.string().min(6).max(80) }))
    .min(4)
    .max(6),
});
export type CorpusRow = z.infer<typeof corpusRowSchema>;

/** Share of situations held out of training and retrieval, for validation and tests. */
const HELD_OUT_PERCENT = 15;

/** Whole situations are held out, by a hash of their name, so a test post's situation was never seen. */
export function heldOut(situation: string): boolean {
  return Number.parseInt(createHash('sha1').update(situation).digest('hex').slice(0, 8), 16) % 100 < HELD_OUT_PERCENT;
}

/** The valid rows of the corpus, training situations only unless `all`; invalid rows are the checker's business. */
export function loadCorpus(dir: string, opts: { all?: boolean } = {}): CorpusRow[] {
  return readJsonLines(dir).flatMap(({ raw }) => {
    const row = corpusRowSchema.safeParse(raw);
    return row.success && (opts.all || !heldOut(row.data.situation)) ? [row.data] : [];
  });
}
