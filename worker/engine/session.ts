import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelConfig } from './config.ts';
import type { BusyReplicas } from './busyReplicas.ts';
import { gatherRows, type KvArena } from './kv.ts';
import type { KvCache } from './kvCache.ts';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionOptions {
  path: string;
  threads?: number;
  executionProvider?: ExecutionProvider;
  /** Microseconds intra-op threads busy-wait for the next op before sleeping (0: never; default DEFAULT_SPIN_MICROS). */
  spinMicros?: number;
  /** Called once when CUDA was asked for but could not be used. */
  onFallback?: (reason: string) => void;
  /** Fetch the whole `present` every step even when the model has `new_key_values` outputs (for comparison). */
  fetchPresent?: boolean;
  /**
   * With `busy`: intra-op threads of a second session over the same file, which runs the steps taken while another
   * replica is busy. Ignored unless fewer than the first session's threads.
   */
  sharedThreads?: number;
  busy?: BusyReplicas;
}

/**
 * Brief spinning: a thread that finishes its share of an op busy-waits this long for the next one instead of going
 * to sleep, which catches the short gaps between the ops of one run. Short on purpose: it makes batch 1 faster and
 * costs nothing at 16 concurrent requests, while onnxruntime's own, longer default lets two replicas' spinning
 * threads take the cores from each other. Figures: BENCHMARKS.md#engine, "Batch 1" and the "spinning off" column.
 */
export const DEFAULT_SPIN_MICROS = 20;

/** Spare columns a cache gets when it is (re)built for appending steps: most steps then write in place. */
const SPARE_COLUMNS = 16;

export interface StepInput {
  rows: number;
  seqLen: number;
  inputIds: BigInt64Array;
  /** [rows, past + seqLen]: spare cache columns are not part of it. */
  attentionMask: BigInt64Array;
  positionIds: BigInt64Array;
  /** Appending steps write into this cache's spare columns: feed each cache to one step only. */
  cache: KvCache;
  /**
   * Where new caches and logits go (preallocated outputs). The results are then only valid until the arena hands
   * the same memory out again; without it every output is a fresh allocation.
   */
  outputs?: KvArena;
}

export interface StepOutput {
  /** Logits of the last position of each row: [rows, vocab]. */
  lastLogits: Float32Array;
  cache: KvCache;
}

/** onnxruntime-node ships the CUDA provider only when its install step could download it. */
function cudaProviderInstalled(): boolean {
  const root = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin');
  if (!existsSync(root)) return false;
  return readdirSync(root).some((napi) => existsSync(join(root, napi, process.platform, process.arch, 'libonnxruntime_providers_cuda.so')));
}

/**
 * Intra-op threads when the caller does not say: one per core (onnxruntime's 0), except for models narrower than
 * 512 where each op is too small to split and waking a second thread for it costs more than it saves (kuakua-mini,
 * 256 wide, was faster with one thread at batch 1 and no slower at 16 concurrent requests; BENCHMARKS.md#engine does
 * not record that comparison yet, so `npm run bench` with `threads` set is the way to check it again).
 */
export function defaultThreads(cfg: ModelConfig): number {
  return cfg.nHead * cfg.headDim < 512 ? 1 : 0;
}

/** Weight files at least this large get one replica on CPU (see defaultReplicas). */
export const ONE_REPLICA_BYTES = 1 << 30;

/**
 * Engine replicas when the caller does not say: two on a CPU with two or more cores, where one replica's JavaScript
 * (sampling, cache bookkeeping, garbage collection) and onnxruntime's single-threaded copies leave a core idle that
 * the other fills; this pays on kuakua-mini and is within noise on the GPT-3-large shape's int8 and q4 files. One for
 * a model file of ONE_REPLICA_BYTES or more: each replica holds and streams its own copy of the weights, which made
 * two replicas slower than one on the fp32 file, besides doubling the memory. One on CUDA, where a second session
 * would compete for one device. Figures: BENCHMARKS.md#engine, "What made the difference", item 4.
 */
export function defaultReplicas(provider: ExecutionProvider, modelBytes: number): number {
  if (provider === 'cuda' || modelBytes >= ONE_REPLICA_BYTES) return 1;
  return Math.min(2, availableParallelism());
}

async function createSession(opts: SessionOptions, cfg: ModelConfig): Promise<ort.InferenceSession> {
  const spin = Math.max(0, Math.floor(opts.spinMicros ?? DEFAULT_SPIN_MICROS));
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: opts.threads ?? defaultThreads(cfg),
    // Off: the arena's page faults made steps that fetch `present` (every prefill) slower than plain allocation, and
    // appending decode steps gain nothing from it. Figures: BENCHMARKS.md#engine, "What made the difference", item 5.
    enableCpuMemArena: false,
    interOpNumThreads: 1,
    extra: {
      session: {
        // No spinning at all between runs, while JavaScript samples and the other replica computes.
        force_spinning_stop: '1',
        intra_op: spin > 0 ? { allow_spinning: '1', spin_duration_us: String(spin) } : { allow_spinning: '0' },
      },
    },
  };
  if (opts.executionProvider === 'cuda') {
    try {
      if (!cudaProviderInstalled()) throw new Error('libonnxruntime_providers_cuda.so is not installed');
      return await ort.InferenceSession.create(opts.path, { ...base, executionProviders: ['cuda'] });
    } catch (err) {
      opts.onFallback?.((err as Error).message.split('\n')[0] ?? 'unknown error');
    }
  }
  return ort.InferenceSession.create(opts.path, { ...base, executionProviders: ['cpu'] });
}

/**
 * A GPT-2 style decoder exported with past_key_values inputs and present outputs. Models from tools/model also
 * output `new_key_values.*` (the keys and values a run adds, [rows, seqLen, hidden]: at seqLen 1 the same bytes as
 * present's last column, [rows, heads, 1, headDim]); decode steps then fetch those and append them to the cache in
 * place, instead of fetching `present`, which onnxruntime-node would copy whole into fresh memory on every token.
 */
export class DecoderSession {
  /** Free columns to leave in caches built for this session (0 when every step returns a whole new cache). */
  readonly spareColumns: number;

  private constructor(
    private readonly solo: ort.InferenceSession,
    private readonly cfg: ModelConfig,
    appends: boolean,
    private readonly shared?: { session: ort.InferenceSession; busy: BusyReplicas },
  ) {
    this.spareColumns = appends ? SPARE_COLUMNS : 0;
  }

  static async load(cfg: ModelConfig, opts: SessionOptions): Promise<DecoderSession> {
    const session = await createSession(opts, cfg);
    for (const name of ['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key']) {
      if (!session.inputNames.includes(name)) throw new Error(`${opts.path} has no input "${name}"`);
    }
    const appends = !opts.fetchPresent && session.outputNames.includes('new_key_values.0.key');
    const threads = opts.threads ?? defaultThreads(cfg);
    const shared =
      opts.busy && opts.sharedThreads !== undefined && opts.sharedThreads < (threads || availableParallelism())
        ? { session: await createSession({ ...opts, threads: opts.sharedThreads }, cfg), busy: opts.busy }
        : undefined;
    return new DecoderSession(session, cfg, appends, shared);
  }

  /**
   * The session for the next run: with another replica busy, the one with fewer threads. Replicas whose threads
   * add up to more than the cores stall each other in every op, which waits for its slowest thread; a lone request
   * still gets every core. Figures: BENCHMARKS.md#engine, "What made the difference", item 4.
   */
  private get session(): ort.InferenceSession {
    return this.shared?.busy.othersBusy() ? this.shared.session : this.solo;
  }

  emptyCache(rows: number): KvCache {
    const { nLayer, nHead, headDim } = this.cfg;
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < nLayer * 2; i++) {
      tensors.push(new ort.Tensor('float32', new Float32Array(0), [rows, nHead, 0, headDim]));
    }
    return { rows, past: 0, capacity: 0, tensors };
  }

  run(input: StepInput): Promise<StepOutput> {
    return input.seqLen === 1 && this.spareColumns > 0 ? this.append(input) : this.replace(input);
  }

  /** Full logits [rows, seqLen, vocab] (tests compare cached decoding with a full pass). */
  async logits(input: StepInput): Promise<Float32Array> {
    const out = await this.session.run(this.feeds({ ...input, cache: compact(input.cache) }));
    return (out.logits as ort.Tensor).data as Float32Array;
  }

  async release(): Promise<void> {
    await this.solo.release();
    await this.shared?.session.release();
  }

  /** One run that fetches `present.*`: the step's cache is a new one, in `outputs` when given. */
  private async replace(input: StepInput): Promise<StepOutput> {
    const { rows, seqLen, outputs } = input;
    const cache = compact(input.cache, outputs);
    const { nLayer, nHead, headDim, vocabSize } = this.cfg;
    const feeds = this.feeds({ ...input, cache });
    let out: ort.InferenceSession.ReturnType;
    if (outputs) {
      const present = outputs.take(2 * nLayer, [rows, nHead, cache.past + seqLen, headDim]);
      const fetches: Record<string, ort.Tensor> = { logits: outputs.scratch([rows, seqLen, vocabSize]) };
      for (const [i, t] of present.entries()) fetches[presentName(i)] = t;
      await this.session.run(feeds, fetches);
      // The binding returns copies of preallocated outputs; the arena's tensors hold the same values and are reused.
      out = fetches;
    } else out = await this.session.run(feeds);
    const tensors = Array.from({ length: 2 * nLayer }, (_, i) => out[presentName(i)] as ort.Tensor);
    const past = cache.past + seqLen;
    return { lastLogits: lastPositions(out.logits as ort.Tensor, rows, seqLen), cache: { rows, past, capacity: past, tensors } };
  }

  /** One decode step that fetches only the new column and writes it into the cache, growing the cache when full. */
  private async append(input: StepInput): Promise<StepOutput> {
    const { rows, outputs } = input;
    let cache = input.cache;
    if (cache.capacity === cache.past) {
      const self = Array.from({ length: rows }, (_, row) => ({ cache, row }));
      cache = gatherRows(self, cache.past, outputs, cache.past + this.spareColumns);
    }
    const { nLayer, nHead, headDim, vocabSize } = this.cfg;
    const fetches: Record<string, ort.Tensor | null> = { logits: outputs?.scratch([rows, 1, vocabSize]) ?? null };
    for (let i = 0; i < 2 * nLayer; i++) fetches[newName(i)] = null;
    const out = await this.session.run(this.feeds({ ...input, cache }), fetches);
    for (let i = 0; i < 2 * nLayer; i++) {
      const dst = cache.tensors[i]!.data as Float32Array;
      const src = (out[newName(i)] as ort.Tensor).data as Float32Array;
      for (let b = 0; b < rows * nHead; b++) {
        dst.set(src.subarray(b * headDim, (b + 1) * headDim), (b * cache.capacity + cache.past) * headDim);
      }
    }
    const logits = (fetches.logits ?? out.logits) as ort.Tensor;
    return { lastLogits: logits.data as Float32Array, cache: { ...cache, past: cache.past + 1 } };
  }

  private feeds(input: StepInput): Record<string, ort.Tensor> {
    const { rows, seqLen, cache } = input;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', input.inputIds, [rows, seqLen]),
      attention_mask: new ort.Tensor('int64', spreadMask(input.attentionMask, rows, cache, seqLen), [rows, cache.capacity + seqLen]),
      position_ids: new ort.Tensor('int64', input.positionIds, [rows, seqLen]),
    };
    for (const [i, t] of cache.tensors.entries()) feeds[`past_key_values.${i >> 1}.${i & 1 ? 'value' : 'key'}`] = t;
    return feeds;
  }
}

const presentName = (i: number) => `present.${i >> 1}.${i & 1 ? 'value' : 'key'}`;
const newName = (i: number) => `new_key_values.${i >> 1}.${i & 1 ? 'value' : 'key'}`;

/** The cache without spare columns (runs that fetch `present` return exactly the columns they were fed). */
function compact(cache: KvCache, arena?: KvArena): KvCache {
  if (cache.capacity === cache.past) return cache;
  return gatherRows(
    Array.from({ length: cache.rows }, (_, row) => ({ cache, row })),
    cache.past,
    arena,
  );
}

/** The caller's mask [rows, past + seqLen] laid over a cache with spare columns: those are masked (0). */
function spreadMask(mask: BigInt64Array, rows: number, cache: KvCache, seqLen: number): BigInt64Array {
  if (cache.capacity === cache.past) return mask;
  const logical = cache.past + seqLen;
  const width = cache.capacity + seqLen;
  const out = new BigInt64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    out.set(mask.subarray(r * logical, r * logical + cache.past), r * width);
    out.set(mask.subarray(r * logical + cache.past, (r + 1) * logical), r * width + cache.capacity);
  }
  return out;
}

/** Logits of each row's last position, [rows, vocab]. */
function lastPositions(logits: ort.Tensor, rows: number, seqLen: number): Float32Array {
  const all = logits.data as Float32Array;
  if (seqLen === 1) return all;
  const vocab = logits.dims[2]!;
  const last = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) last.set(all.subarray((r * seqLen + seqLen - 1) * vocab, (r * seqLen + seqLen) * vocab), r * vocab);
  return last;
}
