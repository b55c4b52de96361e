import * as ort from 'onnxruntime-node';
import type { KvCache } from './kvCache.ts';

export interface RowSource {
  cache: KvCache;
  row: number;
}

export type KvDims = [rows: number, heads: number, past: number, headDim: number];

/**
 * Two reusable buffers for key/value caches. Each new cache (a prefill's or plain export's `present`, a reshaped or
 * grown batch) goes into the buffer the current cache is not in, so steady decoding allocates no cache memory:
 * onnxruntime writes `present` into memory JavaScript already holds (preallocated outputs).
 * Only valid while each taken cache replaces the current one (a batch's caches, one at a time).
 */
export class KvArena {
  private readonly buffers = [new Float32Array(0), new Float32Array(0)];
  private turn = 0;
  private scratchBuf = new Float32Array(0);

  take(count: number, dims: KvDims): ort.Tensor[] {
    const size = dims[0] * dims[1] * dims[2] * dims[3];
    let buf = this.buffers[this.turn]!;
    // Headroom: the cache grows by one position per step.
    if (buf.length < count * size) buf = this.buffers[this.turn] = new Float32Array(Math.ceil(count * size * 1.25));
    this.turn ^= 1;
    return Array.from({ length: count }, (_, t) => new ort.Tensor('float32', buf.subarray(t * size, (t + 1) * size), dims));
  }

  /** One more reusable buffer, for a step's logits: overwritten by the next call. */
  scratch(dims: number[]): ort.Tensor {
    const size = dims.reduce((a, b) => a * b, 1);
    if (this.scratchBuf.length < size) this.scratchBuf = new Float32Array(Math.ceil(size * 1.25));
    return new ort.Tensor('float32', this.scratchBuf.subarray(0, size), dims);
  }
}

/**
 * Builds a cache whose row i is copied from sources[i], right-aligned into columns 0..past-1, with capacity - past
 * spare columns after them: rows are left-padded, so their real tokens always sit in the last used columns.
 * Missing columns on the left are zero (they are masked); surplus columns on the left are dropped, which is only
 * valid when they are padding for that row. Spare columns are not cleared: they are masked until a step writes them,
 * and arena memory only ever holds finite cache values.
 * Covers every batch reshaping the engine needs: dropping finished rows, merging new rows in, fanning one prefilled
 * prompt out to several candidates, and giving a full cache room to grow.
 */
export function gatherRows(sources: RowSource[], past: number, arena?: KvArena, capacity = past): KvCache {
  const first = sources[0]?.cache.tensors;
  if (!first) throw new Error('gatherRows needs at least one row');
  const rows = sources.length;
  const [, heads, , headDim] = first[0]!.dims as KvDims;
  const dims: KvDims = [rows, heads, capacity, headDim];
  const tensors = arena
    ? arena.take(first.length, dims)
    : first.map(() => new ort.Tensor('float32', new Float32Array(rows * heads * capacity * headDim), dims));
  tensors.forEach((tensor, t) => {
    const out = tensor.data as Float32Array;
    for (let r = 0; r < rows; r++) {
      const { cache, row } = sources[r]!;
      const src = cache.tensors[t]!.data as Float32Array;
      const n = Math.min(past, cache.past);
      for (let h = 0; h < heads; h++) {
        const srcEnd = ((row * heads + h) * cache.capacity + cache.past) * headDim;
        const dstEnd = ((r * heads + h) * capacity + past) * headDim;
        out.fill(0, dstEnd - past * headDim, dstEnd - n * headDim);
        out.set(src.subarray(srcEnd - n * headDim, srcEnd), dstEnd - n * headDim);
      }
    }
  });
  return { rows, past, capacity, tensors };
}
