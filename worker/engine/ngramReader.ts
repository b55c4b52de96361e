import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { z } from 'zod';

/**
 * The reader's second opinion: the mean of the post's hashed character n-grams in an int8 table, then two heads
 * (tools/model/ngram_reader.py trains it and writes ngram.bin; its docstring gives the layout).
 */
export const ngramConfigSchema = z.object({
  file: z.string(),
  buckets: z.number().int().positive(),
  dim: z.number().int().positive(),
  orders: z.array(z.number().int().positive()).min(1),
  /** Its share of the probabilities mixed with the transformer reader's. */
  weight: z.number().min(0).max(1),
  /** The intent of a post with fewer Han characters is the transformer's alone (its distress is mixed all the same). */
  min_han: z.number().int().min(0).default(0),
});
export type NgramConfig = z.infer<typeof ngramConfigSchema>;

/** Han characters as the trainer counts them (tools/model/ngram_reader.py, HAN). */
const HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{2ffff}]/gu;

export interface NgramReading {
  /** Logits per label (the transformer reader's order), then distress. */
  logits: Float32Array;
}

export class NgramReader {
  private constructor(
    private readonly cfg: NgramConfig,
    private readonly table: Int8Array,
    private readonly scale: Float32Array,
    private readonly heads: Float32Array,
    private readonly bias: Float32Array,
  ) {}

  /** Its share of the mixed distress probability. */
  get weight(): number {
    return this.cfg.weight;
  }

  /** Its share of the mixed intent probabilities for `post`: none for a post with fewer than min_han Han characters. */
  intentWeightFor(post: string): number {
    return (post.match(HAN)?.length ?? 0) >= this.cfg.min_han ? this.cfg.weight : 0;
  }

  /** Reads DIR/cfg.file, checking its size against the config and the number of labels; throws a one-line error. */
  static load(dir: string, cfg: NgramConfig, labels: number): NgramReader {
    const path = join(dir, cfg.file);
    if (!existsSync(path)) throw new Error(`reader directory ${dir} is missing ${cfg.file}`);
    const raw = readFileSync(path);
    const outs = labels + 1;
    const sizes = [cfg.buckets * cfg.dim, 4 * cfg.buckets, 4 * outs * cfg.dim, 4 * outs];
    const expected = sizes.reduce((a, b) => a + b, 0);
    if (raw.length !== expected) throw new Error(`reader ${cfg.file} has ${raw.length} bytes, its config says ${expected}`);
    // Copied out of the file's buffer: a typed array needs its own alignment.
    const at = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const floats = (i: number) => new Float32Array(Uint8Array.from(raw.subarray(at[i]!, at[i]! + sizes[i]!)).buffer);
    const table = new Int8Array(Uint8Array.from(raw.subarray(0, sizes[0]!)).buffer);
    return new NgramReader(cfg, table, floats(1), floats(2), floats(3));
  }

  /** The bucket of each character n-gram of `^post$` (by code point), as the trainer hashes it. */
  grams(post: string): number[] {
    const chars = Array.from(`^${post}$`);
    const out: number[] = [];
    for (const n of this.cfg.orders) {
      for (let i = 0; i + n <= chars.length; i++) out.push(crc32(`${n}${chars.slice(i, i + n).join('')}`) % this.cfg.buckets);
    }
    return out;
  }

  read(post: string): NgramReading {
    const { dim } = this.cfg;
    const mean = new Float32Array(dim);
    const ids = this.grams(post);
    for (const id of ids) {
      const s = this.scale[id]! / ids.length;
      for (let d = 0; d < dim; d++) mean[d]! += this.table[id * dim + d]! * s;
    }
    const logits = new Float32Array(this.bias.length);
    for (let o = 0; o < logits.length; o++) {
      let sum = this.bias[o]!;
      for (let d = 0; d < dim; d++) sum += this.heads[o * dim + d]! * mean[d]!;
      logits[o] = sum;
    }
    return { logits };
  }
}
