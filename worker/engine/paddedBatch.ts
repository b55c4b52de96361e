import * as ort from 'onnxruntime-node';

/** Token rows right-padded into `input_ids` and `attention_mask` tensors [rows, longest row], as the judge and the reader take them. */
export function paddedBatch(rows: readonly number[][], padId: number): { input_ids: ort.Tensor; attention_mask: ort.Tensor } {
  const width = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * width).fill(BigInt(padId));
  const mask = new BigInt64Array(rows.length * width);
  for (const [i, row] of rows.entries()) {
    for (const [j, id] of row.entries()) {
      ids[i * width + j] = BigInt(id);
      mask[i * width + j] = 1n;
    }
  }
  const dims = [rows.length, width];
  return { input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', mask, dims) };
}
