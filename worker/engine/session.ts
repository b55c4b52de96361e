import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelConfig } from './config.ts';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionOptions {
  path: string;
  threads?: number;
  executionProvider?: ExecutionProvider;
  /** Busy-wait in onnxruntime's thread pool between ops (off by default: on shared cores the spinning steals the time the work needs). */
  spin?: boolean;
  /** Called once when CUDA was asked for but could not be used. */
  onFallback?: (reason: string) => void;
}

/** Key/value cache: for each layer, key and value tensors [rows, n_head, past, head_dim]. */
export interface KvCache {
  rows: number;
  past: number;
  tensors: ort.Tensor[];
}

export interface StepInput {
  rows: number;
  seqLen: number;
  inputIds: BigInt64Array;
  /** [rows, past + seqLen] */
  attentionMask: BigInt64Array;
  positionIds: BigInt64Array;
  cache: KvCache;
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
  return readdirSync(root).some((napi) =>
    existsSync(join(root, napi, process.platform, process.arch, 'libonnxruntime_providers_cuda.so')),
  );
}

/**
 * Intra-op threads when the caller does not say: one per core (onnxruntime's 0), except for models narrower than
 * 512 where each op is too small to split and waking a second thread for it costs more than it saves
 * (kuakua-mini, 256 wide: one thread is ~25% faster at batch 1 and as fast or faster at 16 concurrent requests).
 */
export function defaultThreads(cfg: ModelConfig): number {
  return cfg.nHead * cfg.headDim < 512 ? 1 : 0;
}

async function createSession(opts: SessionOptions, cfg: ModelConfig): Promise<ort.InferenceSession> {
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: opts.threads ?? defaultThreads(cfg),
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: opts.spin ? '1' : '0' } } },
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

/** A GPT-2 style decoder exported with past_key_values inputs and present outputs. */
export class DecoderSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly cfg: ModelConfig,
  ) {}

  static async load(cfg: ModelConfig, opts: SessionOptions): Promise<DecoderSession> {
    const session = await createSession(opts, cfg);
    for (const name of ['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key']) {
      if (!session.inputNames.includes(name)) throw new Error(`${opts.path} has no input "${name}"`);
    }
    return new DecoderSession(session, cfg);
  }

  emptyCache(rows: number): KvCache {
    const { nLayer, nHead, headDim } = this.cfg;
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < nLayer * 2; i++) {
      tensors.push(new ort.Tensor('float32', new Float32Array(0), [rows, nHead, 0, headDim]));
    }
    return { rows, past: 0, tensors };
  }

  private forward(input: StepInput): Promise<ort.InferenceSession.ReturnType> {
    const { rows, seqLen, cache } = input;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', input.inputIds, [rows, seqLen]),
      attention_mask: new ort.Tensor('int64', input.attentionMask, [rows, cache.past + seqLen]),
      position_ids: new ort.Tensor('int64', input.positionIds, [rows, seqLen]),
    };
    for (let l = 0; l < this.cfg.nLayer; l++) {
      feeds[`past_key_values.${l}.key`] = cache.tensors[2 * l]!;
      feeds[`past_key_values.${l}.value`] = cache.tensors[2 * l + 1]!;
    }
    return this.session.run(feeds);
  }

  async run(input: StepInput): Promise<StepOutput> {
    const { rows, seqLen } = input;
    const out = await this.forward(input);
    const tensors: ort.Tensor[] = [];
    for (let l = 0; l < this.cfg.nLayer; l++) {
      tensors.push(out[`present.${l}.key`] as ort.Tensor, out[`present.${l}.value`] as ort.Tensor);
    }
    const logits = out.logits as ort.Tensor;
    const vocab = logits.dims[2]!;
    const all = logits.data as Float32Array;
    let lastLogits = all;
    if (seqLen > 1) {
      lastLogits = new Float32Array(rows * vocab);
      for (let r = 0; r < rows; r++) {
        lastLogits.set(all.subarray((r * seqLen + seqLen - 1) * vocab, (r * seqLen + seqLen) * vocab), r * vocab);
      }
    }
    return { lastLogits, cache: { rows, past: input.cache.past + seqLen, tensors } };
  }

  /** Full logits [rows, seqLen, vocab] (tests compare cached decoding with a full pass). */
  async logits(input: StepInput): Promise<Float32Array> {
    const out = await this.forward(input);
    return (out.logits as ort.Tensor).data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
