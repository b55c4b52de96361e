import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelTool, runModelTool } from '../helpers/modelTool.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kuakua-train-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tools/model', () => {
  it('passes its Python unit tests', async () => {
    const r = await runModelTool(['unittest']);
    expect(r.stderr).toMatch(/Ran \d+ tests/);
    expect(r.status, r.stderr).toBe(0);
  });

  it('trains on src_txt rows, writes a ModelScope checkpoint, resumes, and converts it', async () => {
    const rows = ['今天终于拿到驾照了 | 太厉害了！恭喜恭喜', '论文终于投出去了 | 辛苦了，你超棒的', '求夸 | 你真的很努力'];
    const data = join(dir, 'rows.jsonl');
    writeFileSync(data, rows.map((src_txt) => JSON.stringify({ src_txt })).join('\n'));
    const out = join(dir, 'ckpt');
    const common = [
      'train',
      '--data',
      data,
      '--valid',
      data,
      '--out',
      out,
      '--layers',
      '1',
      '--heads',
      '2',
      '--hidden',
      '32',
      '--positions',
      '64',
      '--vocab-size',
      '200',
      '--batch',
      '3',
      '--save-every',
      '2',
    ];
    await modelTool([...common, '--steps', '4']);
    for (const f of ['pytorch_model.bin', 'config.json', 'vocab.txt', 'trainer_state.pt']) expect(existsSync(join(out, f))).toBe(true);
    const first = JSON.parse(readFileSync(join(out, 'train_metrics.json'), 'utf8'));
    expect(first.steps).toBe(4);
    expect(first.valid.perplexity).toBeGreaterThan(1);

    const resumed = await runModelTool([...common, '--steps', '6', '--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed at step 4/);
    expect(JSON.parse(readFileSync(join(out, 'train_metrics.json'), 'utf8')).steps).toBe(6);

    await modelTool(['convert', out, '--out', join(dir, 'model'), '--variants', 'fp32']);
    expect(existsSync(join(dir, 'model/onnx/model.onnx'))).toBe(true);
  });

  it('rejects rows without src_txt with the line number', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"src_txt": "好 | 棒"}\n{"text": "no"}\n');
    const r = await runModelTool(['train', '--data', bad, '--out', join(dir, 'x'), '--steps', '1']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/bad\.jsonl:2: each row needs a string field "src_txt"/);
  });
});
