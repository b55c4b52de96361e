import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOOL = join(REPO_ROOT, 'tools/model/main.py');

export interface RandomModelOptions {
  layers?: number;
  heads?: number;
  hidden?: number;
  positions?: number;
  seed?: number;
}

const cache = new Map<string, Promise<string>>();
const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/**
 * A model directory with random weights from the toolchain (`tools/model random`), tiny by default.
 * Cached per process and options; removed when the process exits.
 */
export function makeRandomModel(opts: RandomModelOptions = {}): Promise<string> {
  const o = { layers: 2, heads: 2, hidden: 64, positions: 128, seed: 0, ...opts };
  const key = JSON.stringify(o);
  let dir = cache.get(key);
  if (!dir) {
    dir = (async () => {
      const out = join(mkdtempSync(join(tmpdir(), 'kuakua-model-')), 'model');
      made.push(dirname(out));
      await run('python3', [
        TOOL, 'random', '--out', out,
        '--layers', String(o.layers), '--heads', String(o.heads), '--hidden', String(o.hidden),
        '--positions', String(o.positions), '--seed', String(o.seed),
      ]);
      return out;
    })();
    cache.set(key, dir);
  }
  return dir;
}

/** Token ids from the Python reference tokenizer, one array per input string. */
export async function pythonTokenize(modelDir: string, texts: string[]): Promise<number[][]> {
  const child = execFile('python3', [TOOL, 'tokenize', '--model', modelDir], { maxBuffer: 64 << 20 });
  const chunks: string[] = [];
  child.stdout!.on('data', (d) => chunks.push(String(d)));
  const done = new Promise<void>((ok, fail) =>
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`tokenize exited with ${code}`)))),
  );
  child.stdin!.end(texts.map((t) => JSON.stringify(t)).join('\n') + '\n');
  await done;
  return chunks.join('').trim().split('\n').map((line) => JSON.parse(line) as number[]);
}
