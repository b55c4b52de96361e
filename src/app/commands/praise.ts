import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { checkModelDir, createEngine, type Variant } from '../../../worker/engine/index.ts';
import { praiseStep } from '../../../worker/praise.ts';
import { PraiseIndex } from '../../../worker/retrieval.ts';
import { shippedConfig } from '../../config.ts';
import { loadFrames } from '../../frames.ts';
import { policyRules, rankCandidates } from '../../policy.ts';
import { careReply } from '../../distress.ts';
import { readPost } from '../../reading.ts';
import { asRead, inScript } from '../../script.ts';
import { PROJECT_ROOT } from '../../projectRoot.ts';
import { MAX_TEXT_CHARS } from '../../queue/contracts.ts';
import { loadReader } from '../reader.ts';

export const DEFAULT_MODEL_DIR = join(PROJECT_ROOT, 'models/kuakua-mini');
export const DEFAULT_JUDGE_DIR = join(PROJECT_ROOT, 'models/kuakua-judge');
export const DEFAULT_READER_DIR = join(PROJECT_ROOT, 'models/kuakua-reader');
export const DEFAULT_CORPUS_DIR = join(PROJECT_ROOT, 'data/praise');

interface PraiseOptions {
  n?: string;
  seed?: string;
  model: string;
  /** false with --no-judge. */
  judge: string | false;
  /** false with --no-reader. */
  reader: string | false;
  /** false with --no-corpus. */
  corpus: string | false;
  /** false with --no-frames; absent: the shipped config's frames.dir. */
  frames?: string | false;
  variant: string;
  json?: boolean;
}

/** The frames `--frames`/`--no-frames` ask for, else the shipped config's (none when it names no directory). */
function framesFor(option: PraiseOptions['frames'], shipped: string) {
  if (option === false) return undefined;
  if (option !== undefined) return loadFrames(resolve(option));
  return shipped ? loadFrames(join(PROJECT_ROOT, shipped)) : undefined;
}

function parseInteger(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

async function praise(text: string, opts: PraiseOptions): Promise<void> {
  const post = text.trim();
  if (!post) throw new Error('nothing to praise: the text is empty');
  const chars = Array.from(post).length;
  // The limit also keeps the command line short: onnxruntime-node 1.30 crashes with SIGSEGV while loading a model in a
  // process whose arguments add up to more than about 32 KB.
  if (chars > MAX_TEXT_CHARS) throw new Error(`the text is too long: ${chars} characters (at most ${MAX_TEXT_CHARS})`);
  // As in the bot: the post is read first, and one that speaks of self-harm or suicide gets the care reply; the
  // generator is not even loaded.
  const shipped = shippedConfig();
  const warnings = pino({ level: 'warn' }, pino.destination(2));
  const reader = opts.reader === false ? undefined : await loadReader(opts.reader, warnings);
  const reading = await readPost(post, { reader, distress: shipped.distress, timeoutMs: shipped.reader.timeoutMs }).finally(() => reader?.close());
  const read = { ...(reading.intent && { intent: reading.intent }), script: reading.script };
  if (reading.distress) {
    const reply = await careReply(shipped.distress, reading.script);
    console.log(opts.json ? JSON.stringify({ post, kind: 'care', reply, ...read }) : reply);
    return;
  }
  const input = asRead(post, reading.script);
  const count = opts.n === undefined ? undefined : parseInteger('n', opts.n, 1, 16);
  const seed = opts.seed === undefined ? undefined : parseInteger('seed', opts.seed, 0, 2 ** 31 - 1);
  const modelDir = resolve(opts.model);
  checkModelDir(modelDir, opts.variant);
  const variant = opts.variant as Variant;
  const judgeDir = opts.judge === false ? undefined : resolve(opts.judge);
  const rules = policyRules(shipped.policy);

  // One request: a second replica would only double the load time.
  const engine = await createEngine({ modelDir, judgeDir, variant, replicas: 1, logger: warnings });
  try {
    if (count) {
      // Every candidate, best first by the policy's score; more than asked for, so that de-duplication leaves enough.
      const [result] = await engine.generate([
        { post: input, n: Math.max(count + 2, shipped.model.candidates), seed, intent: reading.intent, subject: reading.subject },
      ]);
      const praises = await Promise.all(
        rankCandidates(result!.scored, rules)
          .slice(0, count)
          .map(async ({ c, text }) => ({ ...c, text: await inScript(text, reading.script) })),
      );
      if (opts.json) console.log(JSON.stringify({ post, ...read, model: engine.modelName, variant, praises, newTokens: result!.newTokens, ms: result!.ms }));
      else for (const p of praises) console.log(p.text);
      return;
    }
    // One reply, chosen as the worker chooses it.
    const started = performance.now();
    const out = await praiseStep(
      engine,
      { post: input, avoid: [], n: shipped.model.candidates, maxNewTokens: shipped.model.maxNewTokens, seed, intent: reading.intent, subject: reading.subject },
      {
        rules,
        resampleAttempts: shipped.policy.resampleAttempts,
        retrieval: opts.corpus === false ? undefined : { index: PraiseIndex.load(resolve(opts.corpus)), options: shipped.retrieval },
        frames: framesFor(opts.frames, shipped.frames.dir),
      },
    );
    const reply = await inScript(out.text, reading.script);
    if (opts.json) {
      const { newTokens, generationMs, text, ...rest } = out;
      console.log(JSON.stringify({ post, ...read, model: engine.modelName, variant, ...rest, reply, newTokens, ms: Math.round(performance.now() - started) }));
    } else console.log(reply);
  } finally {
    await engine.close();
  }
}

export function registerPraise(program: Command): void {
  program
    .command('praise')
    .description('generate praise for a post with the local model (no Redis, no config; the care reply for a distress post)')
    .argument('<text>', 'the post to praise, e.g. "今天终于拿到驾照了"')
    .option('--n <count>', 'print this many different praises')
    .option('--seed <seed>', 'random seed, for reproducible output')
    .option('--model <dir>', 'model directory', DEFAULT_MODEL_DIR)
    .option('--judge <dir>', 'reply judge directory', DEFAULT_JUDGE_DIR)
    .option('--no-judge', 'rank candidates by the generator alone')
    .option('--reader <dir>', 'post reader directory: intent and distress of the post', DEFAULT_READER_DIR)
    .option('--no-reader', 'read the post with distress.patterns and the word-list tones alone')
    .option('--corpus <dir>', 'praise corpus whose praises are judged beside the generated ones', DEFAULT_CORPUS_DIR)
    .option('--no-corpus', 'generated praise only')
    .option('--frames <dir>', "praise frames for a reply in the post's own words when no praise is good enough (default: the config's frames.dir)")
    .option('--no-frames', 'a tone template when no praise is good enough')
    .option('--variant <variant>', 'fp32, int8 or q4', 'fp32')
    .option('--json', 'print one JSON object')
    .action(async (text: string, opts: PraiseOptions) => {
      try {
        await praise(text, opts);
      } catch (err) {
        console.error(`kuakua praise: ${(err as Error).message.split('\n')[0]}`);
        process.exitCode = 1;
      }
    });
}
