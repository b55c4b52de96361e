import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { loadSideModelConfig } from './config.ts';
import { NgramReader, ngramConfigSchema } from './ngramReader.ts';
import { paddedBatch } from './paddedBatch.ts';
import { TextTokenizer } from './tokenizer.ts';

/** The post reader's config.json (written by `tools/model/main.py reader-train`). */
const readerConfigSchema = z.object({
  onnx: z.string(),
  onnx_int8: z.string().optional(),
  labels: z.array(z.string()).min(2),
  distress_threshold: z.number().min(0).max(1),
  head_tokens: z.number().int().positive(),
  tail_tokens: z.number().int().positive(),
  /** Tokens left out before reading, as the trainer left them out ([UNK]); absent in readers trained with them. */
  drop_token_ids: z.array(z.number().int()).default([]),
  eos_token_id: z.number().int(),
  pad_token_id: z.number().int(),
  /** The character n-gram bag whose reading is mixed with the graph's (ngramReader.ts); absent in older readers. */
  ngram: ngramConfigSchema.optional(),
});

export type ReaderConfig = z.infer<typeof readerConfigSchema>;

/** What the reader's graph says of one post: a probability per label (config order) and the distress probability. */
export interface ReaderOutput {
  probs: number[];
  distress: number;
  /** What the post is about, a span of it (subject.ts); added by the reader's thread. */
  subject?: string;
}

/** Validates a reader directory up front; throws a one-line error naming what is missing or wrong. */
export function loadReaderConfig(dir: string): ReaderConfig {
  return loadSideModelConfig('reader', dir, readerConfigSchema);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** (1 - w) a + w b. */
const blend = (a: number, b: number, w: number) => (1 - w) * a + w * b;

function softmax(logits: Float32Array): number[] {
  const max = Math.max(...logits);
  const exps = Array.from(logits, (x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Runs the reader's ONNX graph over posts, one batched run per call. */
export class ReaderSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly cfg: ReaderConfig,
    private readonly tok: TextTokenizer,
    private readonly ngram?: NgramReader,
  ) {}

  /** `weights`: int8 (the default, when the directory has it) or fp32 (the reference the parity test checks). */
  static async load(dir: string, weights: 'int8' | 'fp32' = 'int8'): Promise<ReaderSession> {
    const cfg = loadReaderConfig(dir);
    const file = weights === 'int8' && cfg.onnx_int8 ? cfg.onnx_int8 : cfg.onnx;
    const session = await ort.InferenceSession.create(join(dir, file), {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    const ngram = cfg.ngram && NgramReader.load(dir, cfg.ngram, cfg.labels.length);
    return new ReaderSession(session, cfg, new TextTokenizer(dir), ngram);
  }

  /** The post's first head_tokens and last tail_tokens tokens (all of a shorter one), then [SEP], as the trainer reads it. */
  encode(post: string): number[] {
    const ids = this.tok.encode(post).filter((id) => !this.cfg.drop_token_ids.includes(id));
    const { head_tokens: head, tail_tokens: tail } = this.cfg;
    const kept = ids.length > head + tail ? [...ids.slice(0, head), ...ids.slice(-tail)] : ids;
    return [...kept, this.cfg.eos_token_id];
  }

  async read(posts: readonly string[]): Promise<ReaderOutput[]> {
    if (posts.length === 0) return [];
    const out = await this.session.run(
      paddedBatch(
        posts.map((p) => this.encode(p)),
        this.cfg.pad_token_id,
      ),
    );
    const logits = out.intent_logits!.data as Float32Array;
    const distress = out.distress_logit!.data as Float32Array;
    const n = this.cfg.labels.length;
    return posts.map((post, i) => {
      const own = { probs: softmax(logits.subarray(i * n, (i + 1) * n)), distress: sigmoid(distress[i]!) };
      if (!this.ngram) return own;
      const bag = this.ngram.read(post).logits;
      const w = this.ngram.intentWeightFor(post);
      const bagProbs = softmax(bag.subarray(0, n));
      return { probs: own.probs.map((p, c) => blend(p, bagProbs[c]!, w)), distress: blend(own.distress, sigmoid(bag[n]!), this.ngram.weight) };
    });
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
