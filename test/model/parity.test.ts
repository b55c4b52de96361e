import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelTool, runModelTool } from '../helpers/modelTool.ts';

// A small random model, written both as a ModelScope checkpoint and, through `convert`, as a model directory.
const SHAPE = { layers: 2, heads: 4, hidden: 64, positions: 64 };
let dir: string;
let ckpt: string;
let modelDir: string;

interface Step {
  logits: Float32Array;
  dims: readonly number[];
  present: Record<string, ort.Tensor>;
}

interface Shape {
  layers: number;
  heads: number;
  hidden: number;
}

function shapeOf(dir: string): Shape {
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  return { layers: cfg.n_layer, heads: cfg.n_head, hidden: cfg.n_embd };
}

async function run(
  session: ort.InferenceSession,
  ids: number[][],
  mask: number[][],
  pos: number[][],
  past?: Record<string, ort.Tensor>,
  shape: Shape = SHAPE,
): Promise<Step> {
  const b = ids.length;
  const s = ids[0]!.length;
  const i64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
  const feeds: Record<string, ort.Tensor> = { input_ids: i64(ids), attention_mask: i64(mask), position_ids: i64(pos) };
  const headDim = shape.hidden / shape.heads;
  for (let i = 0; i < shape.layers; i++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kv}`] = past?.[`present.${i}.${kv}`] ?? new ort.Tensor('float32', new Float32Array(0), [b, shape.heads, 0, headDim]);
    }
  }
  const out = await session.run(feeds);
  const present: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(out)) if (k.startsWith('present.')) present[k] = v;
  expect(out.logits!.dims.slice(0, 2)).toEqual([b, s]);
  return { logits: out.logits!.data as Float32Array, dims: out.logits!.dims, present };
}

async function reference(input_ids: number[][], attention_mask?: number[][]): Promise<number[][][]> {
  const out = await modelTool(['reference', '--checkpoint', ckpt], JSON.stringify({ input_ids, attention_mask }));
  return JSON.parse(out).logits;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function correlation(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  const mean = (x: Float32Array) => x.reduce((s, v) => s + v, 0) / n;
  const ma = mean(a);
  const mb = mean(b);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Logits of row `row`, positions [from, to), flattened. */
function slice(step: Step, row: number, from: number, to: number): Float32Array {
  const [, s = 0, v = 0] = step.dims;
  return step.logits.subarray((row * s + from) * v, (row * s + to) * v);
}

const positions = (mask: number[]) => {
  let seen = -1;
  return mask.map((m) => (m ? ++seen : 0));
};

/** Prefill 6 tokens, then decode one at a time feeding present.* back: every step's logits equal the full run's. */
async function expectCachedDecodeMatchesFull(dir: string) {
  const shape = shapeOf(dir);
  const session = await ort.InferenceSession.create(join(dir, 'onnx/model.onnx'));
  const mask = IDS.map((r) => r.map(() => 1));
  const full = await run(session, IDS, mask, mask.map(positions), undefined, shape);
  const split = 6;
  let step = await run(
    session,
    IDS.map((r) => r.slice(0, split)),
    mask.map((r) => r.slice(0, split)),
    mask.map((r) => positions(r).slice(0, split)),
    undefined,
    shape,
  );
  for (let row = 0; row < 2; row++) expect(maxDiff(slice(step, row, 0, split), slice(full, row, 0, split))).toBeLessThan(1e-4);
  for (let t = split; t < IDS[0]!.length; t++) {
    step = await run(
      session,
      IDS.map((r) => [r[t]!]),
      mask.map((r) => r.slice(0, t + 1)),
      [[t], [t]],
      step.present,
      shape,
    );
    for (let row = 0; row < 2; row++) expect(maxDiff(slice(step, row, 0, 1), slice(full, row, t, t + 1))).toBeLessThan(1e-4);
  }
}

const IDS = [
  [120, 121, 122, 300, 301, 302, 55, 3000, 17, 999],
  [450, 451, 452, 453, 454, 455, 456, 457, 458, 459],
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kuakua-parity-'));
  ckpt = join(dir, 'ckpt');
  modelDir = join(dir, 'model');
  await modelTool([
    'random',
    '--checkpoint',
    ckpt,
    '--wrap',
    '--layers',
    String(SHAPE.layers),
    '--heads',
    String(SHAPE.heads),
    '--hidden',
    String(SHAPE.hidden),
    '--positions',
    String(SHAPE.positions),
    '--seed',
    '7',
  ]);
  await modelTool(['convert', ckpt, '--out', modelDir]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ONNX export of the ModelScope GPT-3 architecture', () => {
  it('matches the PyTorch forward within 1e-4 (fp32) with the Optimum I/O names', async () => {
    const session = await ort.InferenceSession.create(join(modelDir, 'onnx/model.onnx'));
    expect(session.inputNames).toEqual([
      'input_ids',
      'attention_mask',
      'position_ids',
      ...Array.from({ length: SHAPE.layers }, (_, i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]).flat(),
    ]);
    expect(session.outputNames[0]).toBe('logits');
    expect(session.outputNames).toContain(`present.${SHAPE.layers - 1}.value`);
    const mask = IDS.map((r) => r.map(() => 1));
    const onnxOut = await run(session, IDS, mask, mask.map(positions));
    const ref = (await reference(IDS)).flat(2);
    expect(maxDiff(onnxOut.logits, ref)).toBeLessThan(1e-4);
  });

  it('decoding with the KV cache equals full-sequence logits', async () => {
    await expectCachedDecodeMatchesFull(modelDir);
  });

  it('new_key_values.* hold exactly the columns present.* gained, in every variant', async () => {
    const headDim = SHAPE.hidden / SHAPE.heads;
    for (const file of ['model.onnx', 'model_int8.onnx', 'model_q4.onnx']) {
      const session = await ort.InferenceSession.create(join(modelDir, 'onnx', file));
      const mask = IDS.map((r) => r.map(() => 1));
      const first = await run(session, IDS, mask, mask.map(positions));
      const added = 2;
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from([5n, 6n, 7n, 8n]), [2, added]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(2 * (IDS[0]!.length + added)).fill(1n), [2, IDS[0]!.length + added]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from([10n, 11n, 10n, 11n]), [2, added]),
      };
      for (const [k, v] of Object.entries(first.present)) feeds[k.replace('present', 'past_key_values')] = v;
      const out = await session.run(feeds);
      for (let i = 0; i < SHAPE.layers; i++) {
        for (const kv of ['key', 'value']) {
          const present = out[`present.${i}.${kv}`]!;
          const step = out[`new_key_values.${i}.${kv}`]!;
          const [b, h, total] = present.dims as number[];
          // [batch, sequence, hidden]: this run's columns before the split into heads.
          expect(step.dims).toEqual([b, added, SHAPE.hidden]);
          const p = present.data as Float32Array;
          const s = step.data as Float32Array;
          for (let row = 0; row < b!; row++) {
            for (let head = 0; head < h!; head++) {
              for (let t = 0; t < added; t++) {
                const col = total! - added + t;
                const fromPresent = p.subarray(((row * h! + head) * total! + col) * headDim, ((row * h! + head) * total! + col + 1) * headDim);
                const fromStep = s.subarray((row * added + t) * SHAPE.hidden + head * headDim, (row * added + t) * SHAPE.hidden + (head + 1) * headDim);
                expect(Array.from(fromStep)).toEqual(Array.from(fromPresent));
              }
            }
          }
        }
      }
    }
  });

  it('a cache ending in masked spare columns gives the same step and an empty present, in every variant', async () => {
    const headDim = SHAPE.hidden / SHAPE.heads;
    const split = 6;
    const spare = 3;
    for (const file of ['model.onnx', 'model_int8.onnx', 'model_q4.onnx']) {
      const session = await ort.InferenceSession.create(join(modelDir, 'onnx', file));
      const mask = IDS.map((r) => r.slice(0, split).map(() => 1));
      const first = await run(
        session,
        IDS.map((r) => r.slice(0, split)),
        mask,
        mask.map(positions),
      );
      const step = (past: (t: ort.Tensor) => ort.Tensor, stepMask: number[]) => {
        const i64 = (xs: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), dims);
        const feeds: Record<string, ort.Tensor> = {
          input_ids: i64(
            IDS.map((r) => r[split]!),
            [2, 1],
          ),
          attention_mask: i64([...stepMask, ...stepMask], [2, stepMask.length]),
          position_ids: i64([split, split], [2, 1]),
        };
        for (const [k, v] of Object.entries(first.present)) feeds[k.replace('present', 'past_key_values')] = past(v);
        return session.run(feeds);
      };
      const compact = await step((t) => t, new Array(split + 1).fill(1));
      // Room for `spare` more columns, holding garbage that the mask must hide.
      const roomy = await step(
        (t) => {
          const [b, h] = t.dims as number[];
          const data = new Float32Array(b! * h! * (split + spare) * headDim).map(() => 1e3 * (Math.random() - 0.5));
          for (let bh = 0; bh < b! * h!; bh++) {
            data.set((t.data as Float32Array).subarray(bh * split * headDim, (bh + 1) * split * headDim), bh * (split + spare) * headDim);
          }
          return new ort.Tensor('float32', data, [b!, h!, split + spare, headDim]);
        },
        [...new Array(split).fill(1), ...new Array(spare).fill(0), 1],
      );
      expect(maxDiff(roomy.logits!.data as Float32Array, compact.logits!.data as Float32Array)).toBeLessThan(1e-4);
      for (let i = 0; i < SHAPE.layers; i++) {
        for (const kv of ['key', 'value']) {
          expect(compact[`present.${i}.${kv}`]!.dims).toEqual([2, SHAPE.heads, split + 1, headDim]);
          expect(roomy[`present.${i}.${kv}`]!.dims).toEqual([2, SHAPE.heads, 0, headDim]);
          const name = `new_key_values.${i}.${kv}`;
          expect(maxDiff(roomy[name]!.data as Float32Array, compact[name]!.data as Float32Array)).toBeLessThan(1e-4);
        }
      }
    }
  });

  it('a left-padded batch equals unpadded runs, in prefill and in decode', async () => {
    const session = await ort.InferenceSession.create(join(modelDir, 'onnx/model.onnx'));
    const short = [200, 201, 202, 203];
    const long = IDS[1]!;
    const pad = long.length - short.length;
    const ids = [[...Array(pad).fill(0), ...short], long];
    const mask = [[...Array(pad).fill(0), ...short.map(() => 1)], long.map(() => 1)];
    const batched = await run(session, ids, mask, mask.map(positions));
    const alone = await run(session, [short], [short.map(() => 1)], [positions(short.map(() => 1))]);
    expect(maxDiff(slice(batched, 0, pad, long.length), slice(alone, 0, 0, short.length))).toBeLessThan(1e-4);
    // One decode step on top of the padded cache.
    const next = await run(
      session,
      [[77], [77]],
      mask.map((r) => [...r, 1]),
      [[short.length], [long.length]],
      batched.present,
    );
    const nextAlone = await run(session, [[77]], [[...short.map(() => 1), 1]], [[short.length]], alone.present);
    expect(maxDiff(slice(next, 0, 0, 1), slice(nextAlone, 0, 0, 1))).toBeLessThan(1e-4);
    // The reference agrees on the padded row too.
    const ref = await reference(ids, mask);
    expect(maxDiff(slice(batched, 0, pad, long.length), ref[0]!.slice(pad).flat())).toBeLessThan(1e-4);
  });

  it('int8 and q4 variants run with the same I/O and track fp32', async () => {
    const mask = IDS.map((r) => r.map(() => 1));
    const fp32 = await run(await ort.InferenceSession.create(join(modelDir, 'onnx/model.onnx')), IDS, mask, mask.map(positions));
    // A wrong weight layout (e.g. swapped 4-bit nibbles) drops the correlation to about 0. How closely int8 tracks fp32
    // depends on the CPU: onnxruntime's u8×s8 kernels on AVX2 without VNNI add products in saturating pairs. This random
    // model gave above 0.99 on an Intel Xeon and 0.987 on an AMD EPYC.
    for (const [file, minCorrelation] of [
      ['model_int8.onnx', 0.97],
      ['model_q4.onnx', 0.9],
    ] as const) {
      const session = await ort.InferenceSession.create(join(modelDir, 'onnx', file));
      const q = await run(session, IDS, mask, mask.map(positions));
      expect(maxDiff(q.logits, fp32.logits)).toBeGreaterThan(0); // really quantized
      expect(correlation(q.logits, fp32.logits)).toBeGreaterThan(minCorrelation);
    }
  });

  it('upgrade re-exports a model directory in place, logits unchanged in every variant', async () => {
    const copy = join(dir, 'upgraded');
    cpSync(modelDir, copy, { recursive: true });
    const r = await runModelTool(['upgrade', copy]);
    expect(r.status, r.stderr).toBe(0);
    const mask = IDS.map((row) => row.map(() => 1));
    for (const file of ['model.onnx', 'model_int8.onnx', 'model_q4.onnx']) {
      const before = await run(await ort.InferenceSession.create(join(modelDir, 'onnx', file)), IDS, mask, mask.map(positions));
      const after = await run(await ort.InferenceSession.create(join(copy, 'onnx', file)), IDS, mask, mask.map(positions));
      expect(maxDiff(after.logits, before.logits)).toBe(0);
    }
    // An fp32 file that is not one of our exports (here: a quantized graph) is refused with a one-line reason.
    const foreign = join(dir, 'foreign');
    cpSync(copy, foreign, { recursive: true });
    cpSync(join(copy, 'onnx/model_q4.onnx'), join(foreign, 'onnx/model.onnx'));
    const bad = await runModelTool(['upgrade', foreign]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/does not have the layout of a tools\/model fp32 export/);
  });

  it('stores the tied embedding once and writes the transformers.js layout', async () => {
    const cfg = JSON.parse(await modelTool(['random', '--layers', '1', '--heads', '1', '--hidden', '32', '--out', join(dir, 'tiny'), '--variants', 'fp32']));
    const params = cfg.config.vocab_size * 32 + 64 * 32 + 1 * (12 * 32 * 32 + 13 * 32) + 2 * 32;
    const bytes = statSync(join(dir, 'tiny/onnx/model.onnx')).size;
    expect(bytes).toBeGreaterThan(params * 4);
    expect(bytes).toBeLessThan(params * 4 * 1.1); // a second copy of the embedding would add ~75%
    for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) {
      expect(existsSync(join(dir, 'tiny', f))).toBe(true);
    }
  });
});

describe('the bundled models/kuakua-mini', () => {
  const mini = fileURLToPath(new URL('../../models/kuakua-mini', import.meta.url));

  it('loads every variant in onnxruntime-node with the Optimum I/O names', async () => {
    const shape = shapeOf(mini);
    for (const file of ['model.onnx', 'model_int8.onnx', 'model_q4.onnx']) {
      const session = await ort.InferenceSession.create(join(mini, 'onnx', file));
      expect(session.inputNames.slice(0, 3)).toEqual(['input_ids', 'attention_mask', 'position_ids']);
      expect(session.inputNames).toContain(`past_key_values.${shape.layers - 1}.value`);
      expect(session.outputNames).toEqual([
        'logits',
        ...Array.from({ length: shape.layers }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat(),
        ...Array.from({ length: shape.layers }, (_, i) => [`new_key_values.${i}.key`, `new_key_values.${i}.value`]).flat(),
      ]);
    }
  });

  it('decodes with the KV cache exactly like full-sequence logits (fp32, 1e-4)', async () => {
    await expectCachedDecodeMatchesFull(mini);
  });

  it('runs in transformers.js, whose greedy tokens equal an argmax decode in onnxruntime-node, in every variant', async () => {
    const { AutoModelForCausalLM, AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = `${dirname(mini)}/`;
    const shape = shapeOf(mini);
    const tokenizer = await AutoTokenizer.from_pretrained('kuakua-mini');
    const inputs = tokenizer(['今天终于拿到驾照了 | '], { add_special_tokens: false });
    const prompt = (inputs.input_ids.tolist() as bigint[][])[0]!.map(Number);
    const steps = 8;
    const eos = JSON.parse(readFileSync(join(mini, 'config.json'), 'utf8')).eos_token_id;
    for (const [dtype, file] of [
      ['fp32', 'model.onnx'],
      ['int8', 'model_int8.onnx'],
      ['q4', 'model_q4.onnx'],
    ] as const) {
      const model = await AutoModelForCausalLM.from_pretrained('kuakua-mini', { dtype, device: 'cpu' });
      const generated = (await model.generate({ ...inputs, max_new_tokens: steps, do_sample: false, repetition_penalty: 1.0 } as Parameters<
        typeof model.generate
      >[0])) as { tolist(): bigint[][] };
      await model.dispose();
      const theirs = generated.tolist()[0]!.slice(prompt.length).map(Number);

      const session = await ort.InferenceSession.create(join(mini, 'onnx', file));
      const ours: number[] = [];
      let ids = prompt;
      let step: Step | undefined;
      for (let t = 0; t < steps; t++) {
        const total = prompt.length + t;
        step = await run(session, [ids], [Array(total).fill(1)], [ids.map((_, i) => total - ids.length + i)], step?.present, shape);
        const last = step.logits.subarray(step.logits.length - step.dims[2]!);
        const next = last.indexOf(Math.max(...last));
        ours.push(next);
        if (next === eos) break;
        ids = [next];
      }
      expect(theirs, dtype).toEqual(ours);
    }
  });

  it('stays within the 30 MB budget', () => {
    const files = [
      'config.json',
      'generation_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'vocab.txt',
      'onnx/model.onnx',
      'onnx/model_int8.onnx',
      'onnx/model_q4.onnx',
    ];
    const total = files.reduce((sum, f) => sum + statSync(join(mini, f)).size, 0);
    expect(total).toBeLessThan(30_000_000);
  });
});

describe('convert', () => {
  it('names what is missing from a checkpoint directory', async () => {
    const broken = join(dir, 'broken');
    await modelTool(['random', '--checkpoint', broken, '--layers', '1', '--heads', '1', '--hidden', '16']);
    unlinkSync(join(broken, 'vocab.txt'));
    const r = await runModelTool(['convert', broken, '--out', join(dir, 'never')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/missing vocab\.txt/);
    const none = await runModelTool(['convert', join(dir, 'nope'), '--out', join(dir, 'never')]);
    expect(none.stderr).toMatch(/checkpoint directory not found/);
  });

  // A synthetic checkpoint with the real model's width, heads, positions, vocabulary and key names, and 2 of its 24
  // layers (the converter handles every layer alike; the whole 24 took a minute of CI, BENCHMARKS.md#model-tools).
  it('converts a checkpoint of GPT-3 large’s width, heads and vocabulary (2 of its 24 layers)', async () => {
    const big = join(dir, 'large-ckpt');
    const shape = ['--layers', '2', '--heads', '16', '--hidden', '1024', '--positions', '2048', '--vocab-size', '25600'];
    await modelTool(['random', ...shape, '--checkpoint', big, '--wrap']);
    await modelTool(['convert', big, '--out', join(dir, 'large'), '--variants', 'fp32']);
    const large = join(dir, 'large');
    const converted = shapeOf(large);
    expect(converted).toEqual({ layers: 2, heads: 16, hidden: 1024 });
    expect(JSON.parse(readFileSync(join(large, 'config.json'), 'utf8')).vocab_size).toBe(25600);
    const session = await ort.InferenceSession.create(join(large, 'onnx/model.onnx'));
    expect(session.inputNames).toContain('past_key_values.1.value');
    const ids = [[120, 121, 122, 300]];
    const mask = [ids[0]!.map(() => 1)];
    const out = await run(session, ids, mask, mask.map(positions), undefined, converted);
    expect(out.dims).toEqual([1, 4, 25600]);
    expect(out.logits.every(Number.isFinite)).toBe(true);
    rmSync(big, { recursive: true, force: true });
    rmSync(large, { recursive: true, force: true });
  }, 1_800_000);
});
