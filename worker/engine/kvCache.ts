import type * as ort from 'onnxruntime-node';

/**
 * Key/value cache: for each layer, key and value tensors [rows, n_head, capacity, head_dim]. Rows are left-padded,
 * so every row's newest token sits in column past - 1; columns past..capacity-1 are spare room that appending steps
 * fill in place (masked out until then).
 */
export interface KvCache {
  rows: number;
  past: number;
  capacity: number;
  tensors: ort.Tensor[];
}
