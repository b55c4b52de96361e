import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { loadSideModelConfig } from './config.ts';
import { paddedBatch } from './paddedBatch.ts';
import { TextTokenizer } from './tokenizer.ts';

/** The reply judge's config.json (written by `tools/model/main.py judge-train`). */
const judgeConfigSchema = z.object({
  onnx: z.string(),
  /** The same graph with int8 weights, which the engine runs when present (half the time; QUALITY.md). */
  onnx_int8: z.string().optional(),
  separator: z.string(),
  max_post_tokens: z.number().int().positive(),
  max_reply_tokens: z.number().int().positive(),
  eos_token_id: z.number().int(),
  pad_token_id: z.number().int(),
});

export type JudgeConfig = z.infer<typeof judgeConfigSchema>;

/** Validates a judge directory up front; throws a one-line error naming what is missing or wrong. */
export function loadJudgeConfig(dir: string): JudgeConfig {
  return loadSideModelConfig('judge', dir, judgeConfigSchema);
}

/**
 * Scores (post, reply) pairs with the judge's ONNX graph: one logit per pair, higher is a better reply for the
 * post. Every pair of a call goes through one batched run.
 */
export class JudgeSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly cfg: JudgeConfig,
    private readonly tok: TextTokenizer,
  ) {}

  /** `weights`: int8 (the default, when the directory has it) or fp32 (the reference the parity test checks). */
  static async load(dir: string, weights: 'int8' | 'fp32' = 'int8', threads = 1): Promise<JudgeSession> {
    const cfg = loadJudgeConfig(dir);
    const file = weights === 'int8' && cfg.onnx_int8 ? cfg.onnx_int8 : cfg.onnx;
    const session = await ort.InferenceSession.create(join(dir, file), {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    return new JudgeSession(session, cfg, new TextTokenizer(dir));
  }

  /** `<post> | ` (its last max_post_tokens) + the reply (its first max_reply_tokens) + [SEP], as the trainer reads it. */
  encode(post: string, reply: string): number[] {
    const head = this.tok.encode(post + this.cfg.separator).slice(-this.cfg.max_post_tokens);
    return [...head, ...this.tok.encode(reply).slice(0, this.cfg.max_reply_tokens), this.cfg.eos_token_id];
  }

  async score(pairs: readonly { post: string; reply: string }[]): Promise<number[]> {
    if (pairs.length === 0) return [];
    const out = await this.session.run(
      paddedBatch(
        pairs.map((p) => this.encode(p.post, p.reply)),
        this.cfg.pad_token_id,
      ),
    );
    return Array.from(out.score!.data as Float32Array);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
