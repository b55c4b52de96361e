import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkModelDir, createEngine, type Engine } from '../../worker/engine/index.ts';
import { DecodeBatch } from '../../worker/engine/batch.ts';
import { loadModelConfig, onnxPath } from '../../worker/engine/config.ts';
import { Scheduler, type BatchingPolicy } from '../../worker/engine/scheduler.ts';
import { DecoderSession, defaultReplicas, ONE_REPLICA_BYTES } from '../../worker/engine/session.ts';
import { TextTokenizer } from '../../worker/engine/tokenizer.ts';
import { textKey } from '../../common/textKey.ts';
import { makeRandomModel, TEST_MODELS } from '../helpers/model.ts';

const quiet = pino({ level: 'silent' });

describe('engine (worker thread, real onnxruntime, random model)', () => {
  let dir: string;
  let engine: Engine;

  beforeAll(async () => {
    dir = await makeRandomModel();
    engine = await createEngine({ modelDir: dir, threads: 1, logger: quiet });
  });
  afterAll(() => engine?.close());

  it('names the model and answers with cleaned candidates', async () => {
    expect(engine.modelName).toBe('random');
    const [r] = await engine.generate([{ post: '今天终于拿到驾照了', n: 3, seed: 5 }]);
    expect(r!.candidates.length).toBeGreaterThan(0);
    expect(r!.candidates.length).toBeLessThanOrEqual(3);
    expect(r!.reply).toBe(r!.candidates[0]);
    expect(r!.newTokens).toBeGreaterThan(0);
    for (const c of r!.candidates) {
      expect(c).toBe(c.trim());
      expect(c).not.toMatch(/\[(SEP|CLS|PAD)\]/);
      expect(c).not.toMatch(/[\u4e00-\u9fff] [\u4e00-\u9fff]/);
    }
  });

  it('is reproducible with a seed and differs across unseeded calls', async () => {
    const req = { post: '加班到十二点', n: 2, seed: 1234 };
    const [a] = await engine.generate([req]);
    const [b] = await engine.generate([req]);
    expect(b).toMatchObject({ reply: a!.reply, candidates: a!.candidates });
    const replies = await Promise.all([1, 2, 3].map(() => engine.generate([{ post: '加班到十二点', n: 1 }])));
    expect(new Set(replies.map(([r]) => r!.reply)).size).toBeGreaterThan(1);
  });

  it('honours the avoid list with a normalized comparison', async () => {
    const req = { post: '考研上岸了', n: 4, seed: 99 };
    const [first] = await engine.generate([req]);
    expect(first!.candidates.length).toBeGreaterThan(1);
    const avoid = [` ${first!.candidates[0]!.toUpperCase()}！`];
    const [second] = await engine.generate([{ ...req, avoid }]);
    expect(second!.candidates).toEqual(first!.candidates);
    expect(textKey(second!.reply)).not.toBe(textKey(first!.candidates[0]!));
    expect(second!.reply).toBe(first!.candidates[1]);
    const [none] = await engine.generate([{ ...req, avoid: first!.candidates }]);
    expect(none!.reply).toBe('');
  });

  it('decodes concurrent requests together and answers each with its own result', async () => {
    const posts = ['一', '今天跑了五公里', '我终于学会了游泳，虽然还是有点怕水，但是教练说我进步很大', '求夸'];
    const results = await Promise.all(posts.map((post, i) => engine.generate([{ post, n: 2, seed: i, maxNewTokens: 6 + i }])));
    results.forEach(([r], i) => {
      expect(r!.newTokens).toBeLessThanOrEqual(2 * (6 + i));
      expect(r!.reply.length).toBeGreaterThan(0);
    });
    // the same seeds alone give the same answers as in the shared batch
    const [alone] = await engine.generate([{ post: posts[2]!, n: 2, seed: 2, maxNewTokens: 8 }]);
    expect(alone!.candidates).toEqual(results[2]![0]!.candidates);
  });

  it('writes the reader’s intent and subject into a template that names them, in the engine thread', async () => {
    const conditioned = mkdtempSync(join(tmpdir(), 'kuakua-conditioned-'));
    cpSync(dir, conditioned, { recursive: true });
    const configPath = join(conditioned, 'config.json');
    const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
    cfg.kuakua = {
      ...cfg.kuakua,
      prompt_template: '{intent}，关于{subject}：{post} | ',
      prompt_fields: { intent: { achievement: '成就', sad: '难过' }, missing: '无' },
    };
    writeFileSync(configPath, JSON.stringify(cfg));
    const e = await createEngine({ modelDir: conditioned, threads: 1, replicas: 1, logger: quiet });
    try {
      const ask = (intent?: string, subject?: string) => e.generate([{ post: '今天终于拿到驾照了', n: 3, seed: 9, maxNewTokens: 8, intent, subject }]);
      const [a] = await ask('achievement', '驾照');
      const [b] = await ask('achievement', '驾照');
      const [c] = await ask('sad', '驾照');
      const [d] = await ask('achievement', '科目二');
      // Same reading, same seed: the same samples. Another intent or subject is another prompt.
      expect(b!.candidates).toEqual(a!.candidates);
      expect(c!.candidates).not.toEqual(a!.candidates);
      expect(d!.candidates).not.toEqual(a!.candidates);
    } finally {
      await e.close();
      rmSync(conditioned, { recursive: true, force: true });
    }
  });

  it('rejects empty posts with a clear error', async () => {
    await expect(engine.generate([{ post: '  ' }])).rejects.toThrow(/non-empty/);
    await expect(engine.generate([{ post: 42 } as unknown as { post: string }])).rejects.toThrow(/non-empty/);
  });

  it('survives odd Unicode, control characters, huge posts and odd numbers', async () => {
    const odd = ['\ud800半个代理对\udfff', '\u0000\u0007控制\u202e字符\u200b', '🏳️‍🌈👨‍👩‍👧‍👦'.repeat(50), '夸'.repeat(200_000)];
    const results = await engine.generate(odd.map((post, i) => ({ post, n: 1, seed: i, maxNewTokens: 5 })));
    expect(results).toHaveLength(4);
    for (const r of results) expect(r.newTokens).toBeLessThanOrEqual(5);
    const [weird] = await engine.generate([{ post: '求夸', n: Number.NaN, seed: Number.NaN, maxNewTokens: -3 }]);
    // NaN n falls back to the default 3 candidates; a non-positive maxNewTokens to one token each
    expect(weird!.newTokens).toBe(3);
  });

  it('rejects pending callers when the engine thread crashes, then restarts', async () => {
    const crashing = engine as Engine & { simulateCrash(): void };
    const restarted = new Promise<void>((resolve) => engine.on!('restart', () => resolve()));
    const pending = engine.generate([{ post: '今天终于拿到驾照了', n: 4, maxNewTokens: 100 }]);
    crashing.simulateCrash();
    await expect(pending).rejects.toThrow(/engine thread crashed/);
    await restarted;
    const [r] = await engine.generate([{ post: '重启之后还能夸吗', n: 1, seed: 3 }]);
    expect(r!.reply.length).toBeGreaterThan(0);
  });
});

describe('model directory validation', () => {
  let broken: string;
  afterAll(() => rmSync(broken, { recursive: true, force: true }));

  it('names the missing file in a one-line error', async () => {
    const dir = await makeRandomModel();
    broken = mkdtempSync(join(tmpdir(), 'kuakua-broken-'));
    cpSync(dir, broken, { recursive: true });
    expect(() => checkModelDir(broken, 'q4')).not.toThrow();
    rmSync(join(broken, 'onnx/model_q4.onnx'));
    expect(() => checkModelDir(broken, 'q4')).toThrow(/missing onnx\/model_q4\.onnx$/);
    rmSync(join(broken, 'tokenizer.json'));
    expect(() => checkModelDir(broken, 'fp32')).toThrow(/missing tokenizer\.json$/);
    expect(() => checkModelDir(join(broken, 'nope'), 'fp32')).toThrow(/not found/);
    expect(() => checkModelDir(dir, 'fp16')).toThrow(/unknown variant "fp16"/);
    await expect(createEngine({ modelDir: broken, logger: quiet })).rejects.toThrow(/missing tokenizer\.json/);
  });
});

describe('execution provider', () => {
  it('falls back to CPU when CUDA is missing and says so once, across restarts', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const engine = await createEngine({ modelDir: await makeRandomModel(), executionProvider: 'cuda', logger: pino(sink) });
    try {
      const [r] = await engine.generate([{ post: '求夸', n: 1, seed: 1 }]);
      expect(r!.reply.length).toBeGreaterThan(0);
      const restarted = new Promise<void>((resolve) => engine.on!('restart', () => resolve()));
      (engine as Engine & { simulateCrash(): void }).simulateCrash();
      await restarted;
      await engine.generate([{ post: '求夸', n: 1, seed: 2 }]);
      const notices = lines.filter((l) => l.includes('CUDA execution provider unavailable, using CPU'));
      expect(notices).toHaveLength(1);
    } finally {
      await engine.close();
    }
  });
});

describe('batching policies', () => {
  // The scheduler the engine thread runs, in this thread, so the test can see the batch start decoding.
  async function scheduler(policy: BatchingPolicy): Promise<{ s: Scheduler; session: DecoderSession }> {
    const dir = await makeRandomModel(TEST_MODELS.longContext);
    const cfg = loadModelConfig(dir);
    const session = await DecoderSession.load(cfg, { path: onnxPath(dir, 'fp32'), threads: 1 });
    return { s: new Scheduler(session, cfg, new TextTokenizer(dir), { policy, maxRows: 64 }), session };
  }

  for (const batching of ['continuous', 'wave'] as const) {
    it(`${batching}: a request arriving mid-decode ${batching === 'continuous' ? 'joins the running batch' : 'waits for the batch to drain'}`, async () => {
      const { s, session } = await scheduler(batching);
      const original = DecodeBatch.prototype.step;
      let stepped!: () => void;
      const decoding = new Promise<void>((resolve) => (stepped = resolve));
      const step = vi.spyOn(DecodeBatch.prototype, 'step').mockImplementation(function (this: DecodeBatch) {
        stepped();
        return original.call(this);
      });
      try {
        const order: string[] = [];
        const long = s.generate([{ post: '长', n: 4, seed: 1, maxNewTokens: 400 }]).then(() => order.push('long'));
        await decoding;
        const short = s.generate([{ post: '短', n: 1, seed: 2, maxNewTokens: 3 }]).then(() => order.push('short'));
        await Promise.all([long, short]);
        expect(order).toEqual(batching === 'continuous' ? ['short', 'long'] : ['long', 'short']);
      } finally {
        step.mockRestore();
        await session.release();
      }
    });
  }
});

describe('replicas', () => {
  it('sends a request to an idle replica instead of queueing it behind a busy one, and a crash stays in its replica', async () => {
    const engine = await createEngine({ modelDir: await makeRandomModel(TEST_MODELS.longContext), batching: 'wave', replicas: 2, threads: 1, logger: quiet });
    try {
      const order: string[] = [];
      const long = engine.generate([{ post: '长', n: 4, seed: 1, maxNewTokens: 400 }]);
      void long.then(
        () => order.push('long'),
        () => order.push('long failed'),
      );
      // A request goes to the replica with the fewest in flight when it is made; under wave batching one thread would
      // finish the long request first.
      await engine.generate([{ post: '短', n: 1, seed: 2, maxNewTokens: 3 }]).then(() => order.push('short'));
      expect(order).toEqual(['short']);

      const restarted = new Promise<void>((resolve) => engine.on!('restart', () => resolve()));
      (engine as Engine & { simulateCrash(): void }).simulateCrash();
      await expect(long).rejects.toThrow(/engine thread crashed/);
      // The other replica answers while the crashed one restarts.
      const [r] = await engine.generate([{ post: '另一个线程还在吗', n: 1, seed: 3 }]);
      expect(r!.reply.length).toBeGreaterThan(0);
      await restarted;
      const both = await engine.generate([1, 2, 3, 4].map((seed) => ({ post: '重启之后', n: 1, seed })));
      expect(both.every((x) => x.reply.length > 0)).toBe(true);
    } finally {
      await engine.close();
    }
  });

  it('defaults to two on a multi-core CPU, one on CUDA and for weight files of 1 GB or more', () => {
    const cores = availableParallelism();
    expect(defaultReplicas('cpu', 30e6)).toBe(Math.min(2, cores));
    expect(defaultReplicas('cpu', ONE_REPLICA_BYTES - 1)).toBe(Math.min(2, cores));
    expect(defaultReplicas('cpu', ONE_REPLICA_BYTES)).toBe(1);
    expect(defaultReplicas('cuda', 30e6)).toBe(1);
  });
});
