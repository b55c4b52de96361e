import * as ort from 'onnxruntime-node';
import type { KvCache } from './session.ts';

export interface RowSource {
  cache: KvCache;
  row: number;
}

/**
 * Builds a cache whose row i is copied from sources[i], right-aligned into `past` columns: rows are left-padded,
 * so their real tokens always sit in the last columns. Missing columns on the left are zero (they are masked);
 * surplus columns on the left are dropped, which is only valid when they are padding for that row.
 * Covers every batch reshaping the engine needs: dropping finished rows, merging new rows in, and fanning one
 * prefilled prompt out to several candidates.
 */
export function gatherRows(sources: RowSource[], past: number): KvCache {
  const first = sources[0]?.cache.tensors;
  if (!first) throw new Error('gatherRows needs at least one row');
  const rows = sources.length;
  const tensors: ort.Tensor[] = [];
  for (let t = 0; t < first.length; t++) {
    const [, heads, , headDim] = first[t]!.dims as [number, number, number, number];
    const out = new Float32Array(rows * heads * past * headDim);
    for (let r = 0; r < rows; r++) {
      const { cache, row } = sources[r]!;
      const src = cache.tensors[t]!.data as Float32Array;
      const n = Math.min(past, cache.past);
      for (let h = 0; h < heads; h++) {
        const srcEnd = ((row * heads + h) * cache.past + cache.past) * headDim;
        const dstEnd = ((r * heads + h) * past + past) * headDim;
        out.set(src.subarray(srcEnd - n * headDim, srcEnd), dstEnd - n * headDim);
      }
    }
    tensors.push(new ort.Tensor('float32', out, [rows, heads, past, headDim]));
  }
  return { rows, past, tensors };
}
