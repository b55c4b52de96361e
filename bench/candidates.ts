/**
 * Candidates to judge blind for fitting the policy's score (`python3 tools/model/main.py fit-score`, QUALITY.md):
 * per post, the best few generated candidates and the best few retrieved praises as the worker would rank them, each
 * with what the policy scores it by (log-probability or similarity, the judge's logit), plus the post's tone reply.
 *
 *   node --import tsx bench/candidates.ts --posts FILE [--per-source 3] [--seed 1] --out DIR
 *
 * A post with fewer than `per-source` distinct candidates of either source is left out, so every slot file has the
 * same posts. Writes DIR/candidates.jsonl (one row per reply: {post, system, reply, logprob?, judge, similarity?}) and one file per
 * slot (DIR/slot-<k>.jsonl, {post, reply}) for `npm run blind -- make --system c1=DIR/slot-1.jsonl …`, so that the
 * judge sees every candidate of a post side by side without knowing where any came from.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/app/config.ts';
import { fallbackPraise } from '../src/fallback.ts';
import { policyRules, rankCandidates } from '../src/policy.ts';
import { readPost } from '../src/reading.ts';
import { asRead } from '../src/script.ts';
import { createEngine, type Variant } from '../worker/engine/index.ts';
import { startPostReader } from '../worker/engine/postReader.ts';
import { createRng } from '../worker/engine/sampling.ts';
import { PraiseIndex } from '../worker/retrieval.ts';
import { readPosts } from './eval.ts';

const { values: args } = parseArgs({
  options: {
    posts: { type: 'string', multiple: true },
    out: { type: 'string' },
    'per-source': { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
  },
});
if (!args.posts || !args.out) throw new Error('--posts FILE and --out DIR are required');
const config = loadConfig();
const rules = policyRules(config.policy);
const perSource = Number(args['per-source']);
const engine = await createEngine({
  modelDir: resolve(config.model.dir),
  judgeDir: config.model.judgeDir ? resolve(config.model.judgeDir) : undefined,
  variant: config.model.variant as Variant,
  logger: pino({ level: 'warn' }, pino.destination(2)),
});
const reader = config.reader.dir ? await startPostReader(resolve(config.reader.dir)) : undefined;
const index = PraiseIndex.load(resolve(config.retrieval.dir));
const rows: Record<string, unknown>[] = [];
const slots: { post: string; reply: string }[][] = [];
try {
  for (const [i, { post }] of args.posts.flatMap((f) => readPosts(resolve(f))).entries()) {
    const reading = await readPost(post, { reader, distress: config.distress, timeoutMs: config.reader.timeoutMs });
    if (reading.distress) continue;
    const input = asRead(post, reading.script);
    // Every nearest post offers its praises here, however far: the fit must see what similarity is worth.
    const retrieved = index.candidates(input, reading, { ...config.retrieval, minSimilarity: 0 });
    const [result] = await engine.generate([
      {
        post: input,
        n: config.model.candidates,
        seed: Number(args.seed) + i,
        intent: reading.intent,
        subject: reading.subject,
        judgeAlso: retrieved.map((r) => r.text),
      },
    ]);
    const generated = rankCandidates(result!.scored, rules).slice(0, perSource);
    const similarity = new Map(retrieved.map((r) => [r.text, r.similarity]));
    const found = rankCandidates(
      result!.alsoJudged.map((c) => ({ ...c, similarity: similarity.get(c.text)! })),
      rules,
    ).slice(0, perSource);
    if (generated.length < perSource || found.length < perSource) {
      console.error(`skipped: ${post} (${generated.length} generated, ${found.length} retrieved)`);
      continue;
    }
    const tone = fallbackPraise(input, [], createRng(i), reading.intent).text;
    const replies = [
      ...generated.map(({ c, text }) => ({ post, system: 'generated', reply: text, logprob: c.logprob, judge: c.judge })),
      ...found.map(({ c, text }) => ({ post, system: 'retrieved', reply: text, judge: c.judge, similarity: c.similarity })),
      { post, system: 'tone', reply: tone },
    ];
    rows.push(...replies);
    for (const [k, r] of replies.entries()) {
      slots[k] ??= [];
      slots[k]!.push({ post, reply: r.reply });
    }
  }
} finally {
  await Promise.all([engine.close(), reader?.close()]);
}
mkdirSync(args.out, { recursive: true });
writeFileSync(join(args.out, 'candidates.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
for (const [k, s] of slots.entries()) writeFileSync(join(args.out, `slot-${k + 1}.jsonl`), s.map((r) => `${JSON.stringify(r)}\n`).join(''));
console.log(JSON.stringify({ rows: rows.length, slots: slots.length, out: args.out }));
