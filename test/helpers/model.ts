import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOOL_DIR = join(REPO_ROOT, 'tools/model');
const TOOL = join(TOOL_DIR, 'main.py');

export interface RandomModelOptions {
  layers?: number;
  heads?: number;
  hidden?: number;
  positions?: number;
  seed?: number;
}

/** The models the tests ask for; the integration project's global setup builds them before any test file runs. */
export const TEST_MODELS = {
  tiny: {},
  /** Room for 400 new tokens, so one request decodes long enough for another to arrive meanwhile. */
  longContext: { positions: 512 },
  /** Slow enough per token for a worker to be killed mid-generation (reliability tests). */
  large: { layers: 4, heads: 4, hidden: 256, positions: 1024 },
} satisfies Record<string, RandomModelOptions>;

/** Models depend only on their options and the toolchain's source, so a directory keyed by both is reused across runs. */
const CACHE = join(tmpdir(), `kuakua-test-models-${toolchainHash()}`);
const building = new Map<string, Promise<string>>();

function toolchainHash(): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(TOOL_DIR)
    .filter((f) => f.endsWith('.py'))
    .sort())
    hash.update(name).update(readFileSync(join(TOOL_DIR, name)));
  return hash.digest('hex').slice(0, 12);
}

/**
 * A model directory with random weights from the toolchain (`tools/model random`), tiny by default. Built once per
 * options into a shared cache (moved into place whole, so a reader never sees half a model); treat it as read-only.
 */
export function makeRandomModel(opts: RandomModelOptions = {}): Promise<string> {
  const o = { layers: 2, heads: 2, hidden: 64, positions: 128, seed: 0, ...opts };
  const out = join(CACHE, `l${o.layers}-h${o.heads}-d${o.hidden}-p${o.positions}-s${o.seed}`);
  let dir = building.get(out);
  if (!dir) {
    dir = existsSync(out) ? Promise.resolve(out) : build(out, o);
    building.set(out, dir);
  }
  return dir;
}

async function build(out: string, o: Required<RandomModelOptions>): Promise<string> {
  mkdirSync(CACHE, { recursive: true });
  const scratch = mkdtempSync(join(CACHE, 'building-'));
  try {
    await run('python3', [
      TOOL,
      'random',
      '--out',
      join(scratch, 'model'),
      '--layers',
      String(o.layers),
      '--heads',
      String(o.heads),
      '--hidden',
      String(o.hidden),
      '--positions',
      String(o.positions),
      '--seed',
      String(o.seed),
    ]);
    try {
      renameSync(join(scratch, 'model'), out);
    } catch (err) {
      // Another process finished the same model first: theirs is the same model.
      if (!existsSync(out)) throw err;
    }
    return out;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Token ids from the Python reference tokenizer, one array per input string. */
export async function pythonTokenize(modelDir: string, texts: string[]): Promise<number[][]> {
  const child = execFile('python3', [TOOL, 'tokenize', '--model', modelDir], { maxBuffer: 64 << 20 });
  const chunks: string[] = [];
  child.stdout!.on('data', (d) => chunks.push(String(d)));
  const done = new Promise<void>((ok, fail) => child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`tokenize exited with ${code}`)))));
  child.stdin!.end(`${texts.map((t) => JSON.stringify(t)).join('\n')}\n`);
  await done;
  return chunks
    .join('')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as number[]);
}
