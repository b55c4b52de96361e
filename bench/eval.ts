/**
 * Quality run (`npm run eval`): the worker's pipeline (distress check, engine with the judge, praise policy, tone
 * replies) on a dev set of posts, one request at a time, as the bot answers them. Prints automatic figures (judge
 * scores of what was sent, the kinds of reply overall and per intent, template share, distinct replies, length, latency) and writes every post and reply to a
 * JSONL file for reading and blind judging (QUALITY.md).
 *
 * Options: --posts FILE (repeatable; a JSON array or JSONL of strings or {post, category?, human?}; default
 * eval/fresh-posts.json), --model DIR, --judge DIR ("" for none), --reader DIR (the post reader; "" for none: the
 * distress patterns and the word-list tones alone), --corpus DIR (the praise corpus for retrieval; "" for none), --frames DIR
 * (the praise frames; "" for tone templates only), --variant, --candidates N, --seed N,
 * --out FILE (default eval/results/latest.jsonl), --concurrent C (then also: the same posts from C clients at once,
 * replies/s and latency, with the candidate count the worker would use at that backlog and with the full count),
 * --repeat N (then also: each of the first 10 posts asked N times in one chat, the chat's earlier replies avoided as
 * the worker avoids them: how many distinct replies came back, written beside --out as *.repeat.jsonl),
 * --web URL (instead of the local pipeline: each post, one at a time, through a running bot's POST /api/praise, each
 * in its own chat; KUAKUA_API_TOKEN is sent when set).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { z } from 'zod';
import { candidateCount } from '../src/candidateCount.ts';
import { loadConfig, type AppConfig } from '../src/app/config.ts';
import { PROJECT_ROOT } from '../src/projectRoot.ts';
import type { PraiseSource } from '../src/queue/contracts.ts';
import type { FallbackForm } from '../src/fallback.ts';
import { type Frames, loadFrames } from '../src/frames.ts';
import { policyRules } from '../src/policy.ts';
import { careReply } from '../src/distress.ts';
import { type PostReader, readPost } from '../src/reading.ts';
import { asRead, inScript } from '../src/script.ts';
import { createEngine, type Engine, type Variant } from '../worker/engine/index.ts';
import { startPostReader } from '../worker/engine/postReader.ts';
import { type PraiseStepOptions, praiseStep } from '../worker/praise.ts';
import { PraiseIndex } from '../worker/retrieval.ts';

const postSchema = z.union([
  z
    .string()
    .min(1)
    .transform((post) => ({ post })),
  z.object({ post: z.string().min(1), category: z.string().optional(), human: z.string().optional(), needs: z.string().optional() }),
]);
type DevPost = { post: string; category?: string; human?: string; needs?: string };

export interface EvalRow extends DevPost {
  reply: string;
  kind: 'praise' | 'fallback' | 'care';
  /** Where a praise came from (the local pipeline only). */
  source?: PraiseSource;
  /** The judge's logit for the sent reply (generated replies with a judge only). */
  judge?: number;
  reason?: string;
  /** The tone reply's tone (fallback). */
  tone?: string;
  /** The tone reply's form: the post's words in a frame, or a fixed template (fallback). */
  form?: FallbackForm;
  /** The post reader's intent, when a reader read the post. */
  intent?: string;
  ms: number;
}

export function readPosts(file: string): DevPost[] {
  const text = readFileSync(file, 'utf8');
  let raw: unknown[];
  try {
    raw = text.trimStart().startsWith('[')
      ? JSON.parse(text)
      : text
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l));
  } catch (err) {
    throw new Error(`${file}: not JSON or JSONL (${(err as Error).message})`);
  }
  return raw.map((r, i) => {
    const parsed = postSchema.safeParse(r);
    if (!parsed.success) throw new Error(`${file}: entry ${i + 1}: ${parsed.error.issues[0]!.message}`);
    return parsed.data;
  });
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
};

export function summarize(rows: EvalRow[]): Record<string, number | string> {
  const judged = rows.filter((r) => r.judge !== undefined).map((r) => r.judge!);
  const answered = rows.filter((r) => r.kind !== 'care');
  const f = (x: number) => Math.round(x * 100) / 100;
  const fallbacks = answered.filter((r) => r.kind === 'fallback').length;
  // A web run does not know the form: every fallback counts as a template there.
  const framed = answered.filter((r) => r.form === 'framed').length;
  const topical = answered.filter((r) => r.form === 'topical').length;
  const templates = fallbacks - framed - topical;
  return {
    posts: rows.length,
    praise: rows.filter((r) => r.kind === 'praise').length,
    generated: rows.filter((r) => r.source === 'generated').length,
    retrieved: rows.filter((r) => r.source === 'retrieved').length,
    topical,
    framed,
    template: templates,
    care: rows.filter((r) => r.kind === 'care').length,
    fallbackRate: f(answered.length ? fallbacks / answered.length : 0),
    templateShare: f(answered.length ? templates / answered.length : 0),
    distinctReplies: f(new Set(rows.map((r) => r.reply)).size / Math.max(1, rows.length)),
    // The care reply is one text on purpose: the share of distinct replies among the others.
    distinctAnswered: f(new Set(answered.map((r) => r.reply)).size / Math.max(1, answered.length)),
    meanChars: f(rows.reduce((s, r) => s + Array.from(r.reply).length, 0) / Math.max(1, rows.length)),
    judgeP10: f(quantile(judged, 0.1)),
    judgeP50: f(quantile(judged, 0.5)),
    judgeP90: f(quantile(judged, 0.9)),
    msP50: quantile(
      rows.map((r) => r.ms),
      0.5,
    ),
    msP90: quantile(
      rows.map((r) => r.ms),
      0.9,
    ),
  };
}

/** How each kind of reply was made, per intent the post reader read (`none`: no reader, or it did not answer). */
export function byIntent(rows: EvalRow[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of rows) {
    const kind = r.kind === 'praise' ? (r.source ?? 'praise') : r.kind === 'fallback' ? (r.form ?? 'template') : 'care';
    const name = r.intent ?? 'none';
    const intent = out[name] ?? { posts: 0 };
    out[name] = intent;
    intent.posts = (intent.posts ?? 0) + 1;
    intent[kind] = (intent[kind] ?? 0) + 1;
  }
  return out;
}

/** Every post once, from `clients` concurrent clients, each request sampling `n` candidates: replies/s and latency. */
async function throughput(engine: Engine, config: AppConfig, posts: DevPost[], clients: number, n: number) {
  const rules = policyRules(config.policy);
  const ms: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < posts.length) {
        const post = posts[next++]!.post;
        const t = performance.now();
        await praiseStep(engine, { post, avoid: [], n, maxNewTokens: config.model.maxNewTokens }, { rules, resampleAttempts: config.policy.resampleAttempts });
        ms.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    clients,
    candidates: n,
    repliesPerSecond: Math.round((posts.length / seconds) * 10) / 10,
    msP50: Math.round(quantile(ms, 0.5)),
    msP99: Math.round(quantile(ms, 0.99)),
  };
}

function writeRows(file: string, rows: readonly object[]): void {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(resolve(file), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
}

/**
 * Each post, one at a time, as the bot answers it: the core's reading (distress patterns, and the post reader when
 * there is one), then the worker's praise step, the reply in the post's script.
 */
async function viaPipeline(
  engine: Engine,
  reader: PostReader | undefined,
  step: PraiseStepOptions,
  config: AppConfig,
  posts: DevPost[],
  n: number,
  seed: number,
): Promise<EvalRow[]> {
  const rows: EvalRow[] = [];
  for (const [i, p] of posts.entries()) {
    const started = performance.now();
    const reading = await readPost(p.post, { reader, distress: config.distress, timeoutMs: config.reader.timeoutMs });
    const intent = reading.intent && { intent: reading.intent };
    if (reading.distress) {
      rows.push({ ...p, ...intent, reply: await careReply(config.distress, reading.script), kind: 'care', ms: Math.round(performance.now() - started) });
      continue;
    }
    const out = await praiseStep(
      engine,
      // The worker reads what the core queues: a Traditional post in Simplified (src/core.ts), answered in Traditional.
      {
        post: asRead(p.post, reading.script),
        avoid: [],
        n,
        maxNewTokens: config.model.maxNewTokens,
        seed: seed + i * 101,
        intent: reading.intent,
        subject: reading.subject,
      },
      step,
    );
    const ms = Math.round(performance.now() - started);
    const reply = await inScript(out.text, reading.script);
    rows.push(
      out.kind === 'praise'
        ? { ...p, ...intent, reply, kind: 'praise', source: out.source, judge: out.judge, ms }
        : { ...p, ...intent, reply, kind: 'fallback', reason: out.reason, tone: out.tone, form: out.form, ms },
    );
  }
  return rows;
}

/** Each post asked `times` times in one chat, as the worker answers it there (its earlier replies avoided). */
async function repeated(
  engine: Engine,
  reader: PostReader | undefined,
  step: PraiseStepOptions,
  config: AppConfig,
  posts: DevPost[],
  times: number,
  seed: number,
) {
  const chats: { post: string; replies: string[]; distinct: number }[] = [];
  for (const [i, { post }] of posts.entries()) {
    const replies: string[] = [];
    const { intent, subject, script } = await readPost(post, { reader, distress: config.distress, timeoutMs: config.reader.timeoutMs });
    for (let k = 0; k < times; k++) {
      const avoid = replies.slice(-config.policy.historySize).reverse();
      const out = await praiseStep(
        engine,
        { post: asRead(post, script), avoid, n: config.model.candidates, maxNewTokens: config.model.maxNewTokens, seed: seed + i * 1009 + k, intent, subject },
        step,
      );
      replies.push(out.text);
    }
    chats.push({ post, replies, distinct: new Set(replies).size });
  }
  return chats;
}

/** Each post through a running bot's web API, one at a time: the latency a web user sees. */
async function viaWeb(base: string, posts: DevPost[]): Promise<EvalRow[]> {
  const token = process.env.KUAKUA_API_TOKEN;
  const rows: EvalRow[] = [];
  for (const [i, p] of posts.entries()) {
    const started = performance.now();
    const res = await fetch(new URL('/api/praise', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify({ text: p.post, chatId: `eval-${i}` }),
    });
    const body = (await res.json()) as { reply?: string; kind?: EvalRow['kind']; error?: string };
    if (!res.ok || !body.reply || !body.kind) throw new Error(`POST /api/praise answered ${res.status} ${body.error ?? ''} for entry ${i + 1}`);
    rows.push({ ...p, reply: body.reply, kind: body.kind, ms: Math.round(performance.now() - started) });
  }
  return rows;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      posts: { type: 'string', multiple: true },
      model: { type: 'string' },
      judge: { type: 'string' },
      reader: { type: 'string' },
      corpus: { type: 'string' },
      frames: { type: 'string' },
      variant: { type: 'string' },
      candidates: { type: 'string' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: join(PROJECT_ROOT, 'eval/results/latest.jsonl') },
      concurrent: { type: 'string' },
      repeat: { type: 'string' },
      web: { type: 'string' },
    },
  });
  const config = loadConfig();
  const files = args.posts ?? [join(PROJECT_ROOT, 'eval/fresh-posts.json')];
  const posts = files.flatMap((f) => readPosts(resolve(f)));
  if (args.web) {
    const rows = await viaWeb(args.web, posts);
    writeRows(args.out!, rows);
    console.log(JSON.stringify({ web: args.web, out: args.out, ...summarize(rows) }));
    return;
  }
  const judgeDir = args.judge ?? config.model.judgeDir;
  const engine = await createEngine({
    modelDir: resolve(args.model ?? config.model.dir),
    judgeDir: judgeDir ? resolve(judgeDir) : undefined,
    variant: (args.variant ?? config.model.variant) as Variant,
    logger: pino({ level: 'warn' }, pino.destination(2)),
  });
  const n = args.candidates ? Number(args.candidates) : config.model.candidates;
  const readerDir = args.reader ?? config.reader.dir;
  const reader = readerDir ? await startPostReader(resolve(readerDir)) : undefined;
  const corpusDir = args.corpus ?? config.retrieval.dir;
  const index = corpusDir ? PraiseIndex.load(resolve(corpusDir)) : undefined;
  const framesDir = args.frames ?? config.frames.dir;
  const frames: Frames | undefined = framesDir ? loadFrames(resolve(framesDir)) : undefined;
  const step: PraiseStepOptions = {
    rules: policyRules(config.policy),
    resampleAttempts: config.policy.resampleAttempts,
    retrieval: index && { index, options: config.retrieval },
    frames,
  };
  let rows: EvalRow[];
  try {
    rows = await viaPipeline(engine, reader, step, config, posts, n, Number(args.seed));
    if (args.repeat) {
      const chats = await repeated(engine, reader, step, config, posts.slice(0, 10), Number(args.repeat), Number(args.seed));
      writeRows(args.out!.replace(/\.jsonl$/, '.repeat.jsonl'), chats);
      const mean = chats.reduce((s, c) => s + c.distinct, 0) / Math.max(1, chats.length);
      console.log(
        JSON.stringify({
          repeat: {
            times: Number(args.repeat),
            chats: chats.length,
            meanDistinct: Math.round(mean * 10) / 10,
            minDistinct: Math.min(...chats.map((c) => c.distinct)),
          },
        }),
      );
    }
    if (args.concurrent) {
      const clients = Number(args.concurrent);
      // At C concurrent requests a worker runs worker.concurrency of them and C - concurrency wait.
      const shrunk = candidateCount({
        configured: n,
        minimum: config.model.minCandidates,
        waiting: clients - config.worker.concurrency,
        concurrency: config.worker.concurrency,
      });
      const many = Array.from({ length: 4 }, () => posts).flat();
      for (const count of new Set([shrunk, n])) console.log(JSON.stringify({ throughput: await throughput(engine, config, many, clients, count) }));
    }
  } finally {
    await Promise.all([engine.close(), reader?.close()]);
  }
  writeRows(args.out!, rows);
  const summary = summarize(rows);
  const intents = byIntent(rows);
  console.table(intents);
  console.log(JSON.stringify({ byIntent: intents }));
  console.table(summary);
  console.log(
    JSON.stringify({
      model: engine.modelName,
      judge: judgeDir || null,
      reader: readerDir || null,
      corpus: corpusDir || null,
      candidates: n,
      out: args.out,
      ...summary,
    }),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((err) => {
    console.error(`kuakua eval: ${(err as Error).message.split('\n')[0]}`);
    process.exitCode = 1;
  });
}
