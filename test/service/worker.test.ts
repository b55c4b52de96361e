import { Queue } from 'bullmq';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../../src/app/config.ts';
import { BARE_ASK, BY_TONE } from '../../src/fallback.ts';
import { metrics } from '../../src/metrics.ts';
import { clashesWithTone } from '../../src/tone.ts';
import type { Engine } from '../../worker/engine/index.ts';
import { scriptedEngine } from '../helpers/scriptedEngine.ts';
import { collect, message, testConfig, useServiceFixture, waitFor } from './support.ts';

// Queue mechanics of the worker service with a scripted engine, so that the candidates (and how long they take) are known.
// End-to-end behaviour with the real engine is in queue.test.ts.

async function fallbackCount(reason: string, tone: string, form = 'framed'): Promise<number> {
  const metric = await metrics.fallbacks.get();
  return metric.values.find((v) => v.labels.reason === reason && v.labels.tone === tone && v.labels.form === form)?.value ?? 0;
}

const fx = useServiceFixture();

async function setup(engine: Engine, patch: Parameters<typeof testConfig>[1] = {}) {
  // Generated candidates only, unless a test offers a corpus; every scripted candidate acceptable unless a test sets
  // the policy's score, so that what is checked here does not hang on the shipped weights.
  const config: AppConfig = testConfig(fx.redis.url, { retrieval: { dir: '' }, ...patch, policy: { minScore: 0, minScoreOverFrame: 0, ...patch.policy } });
  const bot = await fx.core(config);
  const got = collect(bot);
  const worker = await fx.worker(config, engine);
  return { config, bot, got, worker };
}

describe('praise policy in the worker', () => {
  it('passes the chat’s recent replies to the engine as avoid, and skips a candidate that repeats one', async () => {
    await fx.admin.lpush('{kuakua}:history:telegram:group-1', '你跑步的样子真帅！');
    const engine = scriptedEngine([['你跑步的样子真帅！', '五公里都坚持下来了，毅力满分！']]);
    const { bot, got } = await setup(engine);
    await bot.handle(message({ text: '求夸 我今天跑了五公里' }));
    await waitFor(() => got.length === 1, 'the reply');
    expect(engine.calls[0]).toMatchObject({ post: '我今天跑了五公里', avoid: ['你跑步的样子真帅！'] });
    expect(got[0]).toMatchObject({ kind: 'praise', text: '五公里都坚持下来了，毅力满分！' });
  });

  it('never sends a blocklisted candidate: takes the next one, or resamples', async () => {
    const engine = scriptedEngine([['你这个笨蛋也能跑五公里？', 'What an idiot, well done'], ['你真的太棒了，坚持就是胜利！']]);
    const { bot, got } = await setup(engine, { policy: { resampleAttempts: 1 } });
    await bot.handle(message());
    await waitFor(() => got.length === 1, 'the reply');
    expect(engine.calls).toHaveLength(2);
    expect(got[0]).toMatchObject({ kind: 'praise', text: '你真的太棒了，坚持就是胜利！' });
  });

  it('when every sample is rejected, sends a reply in the post’s tone', async () => {
    const engine = scriptedEngine([['傻逼'], ['']]);
    const { bot, got } = await setup(engine, { policy: { resampleAttempts: 1 } });
    await bot.handle(message());
    await waitFor(() => got.length === 1, 'the reply');
    expect(got[0]!.kind).toBe('fallback');
    expect(got[0]!.text).not.toContain('傻');
  });

  it('sends the best-scored candidate, not the first', async () => {
    const engine = scriptedEngine([
      [
        { text: '谢谢大家的夸奖', logprob: -0.5, judge: -1 },
        { text: '五公里说跑就跑，执行力满分！', logprob: -2, judge: 3 },
        { text: '你好棒', logprob: -1, judge: 1 },
      ],
    ]);
    const { bot, got } = await setup(engine, { policy: { score: { bias: 0, logprob: 0, judge: 1, chars: 0 }, minScore: 0, minScoreOverFrame: 0 } });
    await bot.handle(message());
    await waitFor(() => got.length === 1, 'the reply');
    expect(got[0]).toMatchObject({ kind: 'praise', text: '五公里说跑就跑，执行力满分！' });
  });

  it('below the judge threshold, comforts a sad post in its own words instead, and counts it in /metrics', async () => {
    const before = await fallbackCount('below-threshold', 'sad');
    const engine = scriptedEngine([
      [
        { text: '抱抱你，你可以当妈家都好', logprob: -3, judge: -4 },
        { text: '加油，我也是喜欢这个手机', logprob: -2.5, judge: -2 },
      ],
    ]);
    const { bot, got } = await setup(engine, {
      policy: { score: { bias: 0, logprob: 0, judge: 1, chars: 0 }, minScore: 0, minScoreOverFrame: 0, resampleAttempts: 0 },
    });
    await bot.handle(message({ text: '求夸 差一分，考研三战败' }));
    await waitFor(() => got.length === 1, 'the reply');
    expect(got[0]!.kind).toBe('fallback');
    // How near it came is the bright spot it quotes (src/brightSpots.ts).
    expect(got[0]!.text).toContain('「差一分」');
    // Comfort, no laughter: the policy's own rule for a sad post.
    expect(clashesWithTone(got[0]!.text, 'sad')).toBe(false);
    expect(await fallbackCount('below-threshold', 'sad')).toBe(before + 1);
  });

  it('a praise predicted below policy.minScoreOverFrame loses to a frame around the post, but not to a template', async () => {
    // Predicted 3.2 (bias 3 + judge 0.2): above minScore 3.0, below minScoreOverFrame 3.5.
    const policy = { score: { bias: 3, logprob: 0, judge: 1, chars: 0 }, minScore: 3, minScoreOverFrame: 3.5, resampleAttempts: 0 };
    const candidate = { text: '太厉害了，给你点赞！', logprob: -1, judge: 0.2 };
    const engine = scriptedEngine([[candidate], [candidate]]);
    const { bot, got } = await setup(engine, { policy });
    await bot.handle(message({ text: '求夸 终于把驾照考下来了' }));
    await waitFor(() => got.length === 1, 'the reply to a post with a phrase to quote');
    expect(got[0]).toMatchObject({ kind: 'fallback' });
    expect(got[0]!.text).toContain('「终于把驾照考下来了」');
    await bot.handle(message({ text: '求夸 为什么表扬组这么温暖' }));
    await waitFor(() => got.length === 2, 'the reply to a post with nothing to quote');
    expect(got[1]).toMatchObject({ kind: 'praise', text: '太厉害了，给你点赞！' });
  });

  it('a post that says nothing yet gets a bare-ask template, and the engine is not asked for a praise about nothing', async () => {
    const engine = scriptedEngine([['哇，看起来好好吃'], ['太厉害了吧']]);
    const { bot, got } = await setup(engine);
    const before = await fallbackCount('says-nothing', 'neutral', 'template');
    for (const text of ['求夸', '🥺🥺', '123456']) await bot.handle(message({ text, mentionsBot: true }));
    await waitFor(() => got.length === 3, 'the three replies');
    for (const reply of got) expect(BARE_ASK).toContain(reply.text);
    expect(engine.calls).toEqual([]);
    expect(await fallbackCount('says-nothing', 'neutral', 'template')).toBe(before + 3);
  });

  it.each([
    ['empty', ''],
    ['a directory that cannot be read', join(tmpdir(), 'kuakua-no-frames')],
  ])('with frames.dir %s, the tone reply is a fixed template and the worker still answers', async (_, dir) => {
    const before = await fallbackCount('rejected', 'sad', 'template');
    const { bot, got } = await setup(scriptedEngine([['傻逼']]), { frames: { dir } });
    await bot.handle(message({ text: '求夸 差一分，考研三战败' }));
    await waitFor(() => got.length === 1, 'the reply');
    expect(BY_TONE.sad).toContain(got[0]!.text);
    expect(await fallbackCount('rejected', 'sad', 'template')).toBe(before + 1);
  });

  it('never sends the post back: when every candidate echoes it, the reply is a tone reply', async () => {
    const engine = scriptedEngine([['我今天跑了五公里', '我今天跑了五公里！！']]);
    const { bot, got } = await setup(engine, { policy: { resampleAttempts: 0 } });
    await bot.handle(message());
    await waitFor(() => got.length === 1, 'the reply');
    expect(got[0]!.kind).toBe('fallback');
    expect(got[0]!.text).not.toContain('我今天跑了五公里');
  });

  it('cuts an over-long candidate to policy.maxReplyChars', async () => {
    const engine = scriptedEngine([[`你真的太厉害了！${'每天坚持跑步真的很不容易。'.repeat(20)}`]]);
    const { bot, got } = await setup(engine, { policy: { maxReplyChars: 40, score: { bias: 4, logprob: 0, judge: 0, chars: 0 } } });
    await bot.handle(message());
    await waitFor(() => got.length === 1, 'the reply');
    expect(got[0]!.kind).toBe('praise');
    expect(Array.from(got[0]!.text).length).toBeLessThanOrEqual(40);
    expect(got[0]!.text).toMatch(/。$/);
  });
});

describe('retrieval and variety', () => {
  const corpusDir = mkdtempSync(join(tmpdir(), 'kuakua-corpus-'));
  const corpusRow = {
    id: 'test-0001',
    situation: 'fitness.first-5k',
    post: '求夸：第一次跑完五公里，中间一步没停',
    intent: 'effort',
    subject: '五公里',
    script: 'simplified',
    praises: [
      '五公里一步没停，腿和意志力都交了满分卷',
      '第一次就不停歇地跑完五公里，这份稳劲儿太难得',
      '一步没停的五公里，跑道都该给你鼓掌',
      '五公里的风都追不上你',
    ].map((text) => ({
      voice: 'detail',
      text,
    })),
  };
  writeFileSync(join(corpusDir, 'test.jsonl'), `${JSON.stringify(corpusRow)}\n`);
  afterAll(() => rmSync(corpusDir, { recursive: true, force: true }));

  it('hands the nearest corpus post’s praises to the judge beside the samples, and sends the best of all', async () => {
    const engine = scriptedEngine([[{ text: '你好棒', logprob: -3, judge: -2 }]]);
    const { bot, got } = await setup(engine, {
      retrieval: { dir: corpusDir, posts: 1, minSimilarity: 0.1 },
      policy: { score: { bias: 3, logprob: 0, judge: 0, chars: 0 }, retrievedScore: { bias: 3, judge: 0, similarity: 1, chars: 0 } },
    });
    await bot.handle(message({ text: '求夸 我今天跑了五公里，一步没停' }));
    await waitFor(() => got.length === 1, 'the reply');
    expect(engine.calls[0]!.judgeAlso).toEqual(corpusRow.praises.map((p) => p.text));
    expect(got[0]!.kind).toBe('praise');
    expect(corpusRow.praises.map((p) => p.text)).toContain(got[0]!.text);
  });

  it('a corpus directory that cannot be read leaves generated praise alone: the worker starts and answers', async () => {
    const engine = scriptedEngine([['五公里说跑就跑，执行力满分！']]);
    const { bot, got } = await setup(engine, { retrieval: { dir: join(corpusDir, 'missing') } });
    await bot.handle(message());
    await waitFor(() => got.length === 1, 'the reply');
    expect(engine.calls[0]!.judgeAlso).toEqual([]);
    expect(got[0]).toMatchObject({ kind: 'praise', text: '五公里说跑就跑，执行力满分！' });
  });

  it('sends one text at most policy.maxSendsPerDay times a day over all chats', async () => {
    const best = { text: '五公里说跑就跑，执行力满分！', logprob: -1, judge: 2 };
    const next = { text: '跑完五公里还来求夸，自律又可爱！', logprob: -1, judge: 1 };
    const engine = scriptedEngine([
      [best, next],
      [best, next],
      [best, next],
    ]);
    const { bot, got } = await setup(engine, { policy: { maxSendsPerDay: 2, historySize: 0, score: { bias: 3, logprob: 0, judge: 0.1, chars: 0 } } });
    for (const chatId of ['group-a', 'group-b', 'group-c']) {
      await bot.handle(message({ chatId }));
      await waitFor(() => got.some((d) => d.chatId === chatId), `the reply in ${chatId}`);
    }
    expect(got.map((d) => d.text)).toEqual([best.text, best.text, next.text]);
  });
});

describe('failures and shutdown', () => {
  it('an engine error is retried with backoff and answered once', async () => {
    let calls = 0;
    const flaky: Engine = {
      modelName: 'flaky',
      async generate(reqs) {
        calls += 1;
        if (calls === 1) throw new Error('engine thread crashed');
        return reqs.map(() => ({
          reply: '你的努力大家都看得见！',
          candidates: ['你的努力大家都看得见！'],
          scored: [{ text: '你的努力大家都看得见！', logprob: -1 }],
          alsoJudged: [],
          newTokens: 8,
          ms: 5,
        }));
      },
      async close() {},
    };
    const { bot, config, got } = await setup(flaky);
    await bot.handle(message());
    await waitFor(() => got.length === 1, 'the reply');
    await fx.idle(config);
    expect(calls).toBe(2);
    expect(got).toHaveLength(1);
  });

  it('close() lets the job in hand finish before it returns', async () => {
    let finish!: () => void;
    const engine = scriptedEngine([['慢慢来，你已经很棒了！']], new Promise<void>((resolve) => (finish = resolve)));
    const { bot, config, got, worker } = await setup(engine);
    const r = await bot.handle(message());
    await waitFor(() => engine.calls.length === 1, 'the job to start');
    // The generation ends only after close() was called.
    const closed = worker.close();
    finish();
    await closed;
    const requests = new Queue(config.queue.name, { connection: { url: fx.redis.url }, prefix: config.redis.prefix });
    try {
      expect(await (await requests.getJob(r.action === 'queued' ? r.jobId : ''))!.isCompleted()).toBe(true);
    } finally {
      await requests.close();
    }
    await waitFor(() => got.length === 1, 'the reply of the job in hand');
    expect(got[0]!.text).toBe('慢慢来，你已经很棒了！');
  });

  it('a job still running after the grace period goes back to the queue, and another worker answers it once', async () => {
    const stuck: Engine = { modelName: 'stuck', generate: () => new Promise(() => {}), async close() {} };
    const { bot, config, got, worker } = await setup(stuck, { worker: { shutdownTimeoutMs: 200 } });
    await bot.handle(message());
    const requests = new Queue(config.queue.name, { connection: { url: fx.redis.url }, prefix: config.redis.prefix });
    try {
      await waitFor(async () => (await requests.getActiveCount()) === 1, 'the job to start');
      await worker.close();
      expect(await requests.getActiveCount()).toBe(0);
      expect(await requests.count()).toBe(1);
      const [job] = await requests.getJobs(['delayed', 'wait']);
      expect(job!.attemptsMade).toBe(0);
    } finally {
      await requests.close();
    }
    await fx.worker(config, scriptedEngine([['接力成功，你真棒！']]));
    await waitFor(() => got.length === 1, 'the reply from the second worker');
    await fx.idle(config);
    expect(got).toHaveLength(1);
    expect(got[0]!.text).toBe('接力成功，你真棒！');
  });
});
