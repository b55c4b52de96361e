/**
 * Writes the praise corpus as the model tools read it: every valid row in Simplified (what the models read), with
 * `heldout` set for the situations kept out of training (src/praiseCorpus.ts), and the tone replies the bot falls
 * back on, which the judge learns to rank below a praise written for the post.
 *
 *   node --import tsx tools/praise/export.ts [--dir data/praise] --out DIR   → DIR/corpus.jsonl, DIR/templates.json
 *     [--sample N [--seed S]]   → also DIR/sample.jsonl: N praises drawn at random, as {post, reply}, for a blind
 *                                  reading (`npm run blind -- make --system corpus=DIR/sample.jsonl`)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BY_TONE } from '../../src/fallback.ts';
import { heldOut, loadCorpus } from '../../src/praiseCorpus.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { toSimplified } from '../../src/script.ts';
import { createRng } from '../../worker/engine/sampling.ts';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, out: { type: 'string' }, sample: { type: 'string' }, seed: { type: 'string', default: '1' } },
});
if (!values.out) throw new Error('--out DIR is required');
const rows = loadCorpus(values.dir ?? join(PROJECT_ROOT, 'data/praise'), { all: true }).map((r) => ({
  id: r.id,
  situation: r.situation,
  heldout: heldOut(r.situation),
  post: toSimplified(r.post),
  intent: r.intent,
  subject: toSimplified(r.subject),
  praises: r.praises.map((p) => ({ voice: p.voice, text: toSimplified(p.text) })),
}));
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, 'corpus.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
writeFileSync(join(values.out, 'templates.json'), `${JSON.stringify(Object.values(BY_TONE).flat(), null, 1)}\n`);
if (values.sample) {
  // One praise per drawn post, so that no post appears twice on the sheet.
  const rng = createRng(Number(values.seed));
  const pool = [...rows];
  const drawn = Array.from({ length: Math.min(Number(values.sample), pool.length) }, () => pool.splice(Math.floor(rng() * pool.length), 1)[0]!);
  const lines = drawn.map((r) => ({ post: r.post, reply: r.praises[Math.floor(rng() * r.praises.length)]!.text, id: r.id }));
  writeFileSync(join(values.out, 'sample.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
}
console.log(JSON.stringify({ rows: rows.length, heldout: rows.filter((r) => r.heldout).length, out: values.out }));
