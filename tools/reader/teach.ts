/**
 * Writes the soft targets for distilling one post reader from several (`reader-train --teacher`): the mean of the
 * readers' intent and distress probabilities, read as the bot reads (the int8 graphs), for every prepared training row
 * and for the douban titles nobody labelled. A title whose text would fall in the test split, or that the blind
 * evaluations read (EVAL_POSTS), is left out: no post that is or could become a test row is ever trained on.
 *
 *   node --import tsx tools/reader/teach.ts --reader A --reader B --data .kuakua/reader-data [--data-dir ../shared/data]
 *     --out teacher.jsonl
 *
 * One line per post: {"input", "probs": [per label, in labels.json order], "distress"}.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readPosts } from '../../bench/eval.ts';
import { textKey } from '../../common/textKey.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { toSimplified } from '../../src/script.ts';
import { ReaderSession } from '../../worker/engine/reader.ts';
import { doubanTitles, isTest, type PreparedRow } from './prepare.ts';

const BATCH = 64;

export interface SoftTarget {
  input: string;
  probs: number[];
  distress: number;
}

/** The posts the blind evaluations read (QUALITY.md): a reader is never trained on them, not even without labels. */
export const EVAL_POSTS = ['eval/fresh-posts.json', 'eval/long-tail-posts.json', 'eval/tone-traps.json', 'eval/results/v3/human-douban.jsonl'];

/** Every post of EVAL_POSTS, as written. */
export function evalPosts(root = PROJECT_ROOT): string[] {
  return EVAL_POSTS.flatMap((f) => readPosts(join(root, f)).map((p) => p.post));
}

/**
 * The unlabelled douban titles as the reader sees them: each text once, and none that is labelled, in the test split
 * or one of `exclude` (the evaluations' posts).
 */
export function unlabelledTitles(dataDir: string, labelled: readonly PreparedRow[], exclude: readonly string[] = []): string[] {
  const seen = new Set([...labelled.map((r) => textKey(r.input)), ...exclude.map((p) => textKey(toSimplified(p)))]);
  const out: string[] = [];
  for (const title of doubanTitles(dataDir)) {
    const text = title.trim();
    const key = textKey(toSimplified(text));
    if (!key || isTest(text) || seen.has(key)) continue;
    seen.add(key);
    out.push(toSimplified(text));
  }
  return out;
}

/** The mean of the readers' outputs for each post; the readers must share their labels. */
export async function teach(readers: readonly ReaderSession[], inputs: readonly string[]): Promise<SoftTarget[]> {
  const labels = JSON.stringify(readers[0]?.cfg.labels);
  if (readers.some((r) => JSON.stringify(r.cfg.labels) !== labels)) throw new Error('the readers do not share their labels');
  const out: SoftTarget[] = [];
  for (let i = 0; i < inputs.length; i += BATCH) {
    const batch = inputs.slice(i, i + BATCH);
    const reads = await Promise.all(readers.map((r) => r.read(batch)));
    for (const [j, input] of batch.entries()) {
      const each = reads.map((r) => r[j]!);
      const mean = (f: (o: (typeof each)[number]) => number) => each.reduce((s, o) => s + f(o), 0) / each.length;
      out.push({ input, probs: each[0]!.probs.map((_, k) => mean((o) => o.probs[k]!)), distress: mean((o) => o.distress) });
    }
  }
  return out;
}

async function main() {
  const { values } = parseArgs({
    options: {
      reader: { type: 'string', multiple: true },
      data: { type: 'string' },
      'data-dir': { type: 'string', default: join(PROJECT_ROOT, '../shared/data') },
      out: { type: 'string' },
    },
  });
  if (!values.reader?.length || !values.data || !values.out) {
    console.error('usage: teach.ts --reader DIR [--reader DIR ...] --data PREPARED_DIR --out FILE');
    process.exit(2);
  }
  const rows = (name: string) =>
    readFileSync(join(values.data!, name), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as PreparedRow);
  const train = rows('train.jsonl');
  const titles = unlabelledTitles(values['data-dir'], [...train, ...rows('test.jsonl')], evalPosts());
  const readers = await Promise.all(values.reader.map((d) => ReaderSession.load(d)));
  const targets = await teach(readers, [...train.map((r) => r.input), ...titles]);
  await Promise.all(readers.map((r) => r.close()));
  // Written whole, then renamed: make-kuakua-reader.sh takes a file that is there for a finished one.
  writeFileSync(`${values.out}.part`, targets.map((t) => `${JSON.stringify(t)}\n`).join(''));
  renameSync(`${values.out}.part`, values.out);
  console.log(JSON.stringify({ labelled: train.length, unlabelled: titles.length, readers: values.reader.length }));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
