import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { clearAdapterStatus, setAdapterStatus } from '../../src/adapterStatus.ts';
import type { Core } from '../../src/adapter.ts';
import { createCore } from '../../src/core.ts';
import { beat, removeBeat } from '../../src/heartbeat.ts';
import { createLogger } from '../../src/logger.ts';
import { MAX_TEXT_CHARS, redisKeys } from '../../src/queue/contracts.ts';
import { startWebServer } from '../../adapters/web/server.ts';
import { webOptionsFromConfig } from '../../adapters/web/index.ts';
import type { WebOptions } from '../../adapters/web/context.ts';
import { registry } from '../../src/metrics.ts';
import { BAD_INPUTS, type BadInputName } from '../adapters/badInput.ts';
import { gatedCore, startStack, type Stack } from '../adapters/stack.ts';
import { INDIRECT_DISTRESS_TRADITIONAL, traditionalCareReply } from '../helpers/distressPosts.ts';
import { recordLogs, type RecordedLogs } from '../helpers/logs.ts';
import { PRAISE_SEED, PRAISED_POSTS, expectGeneratedReply } from '../helpers/praise.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { testConfig, waitFor } from '../service/support.ts';
import { HAN, startWeb, type WebFixture } from './support.ts';

// The full /healthz is the operator's.
const OPERATOR_TOKEN = 'api-test-operator-token';
const OPERATOR = { operatorToken: OPERATOR_TOKEN };
const health = (web: WebFixture) => fetch(`${web.url}healthz`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });

describe('HTTP API through the real queue, worker and engine', () => {
  let stack: Stack;
  let web: WebFixture;

  beforeAll(async () => {
    stack = await startStack({ rateLimit: { chatPerMinute: 0 } });
    web = await startWeb(stack.core, stack.config, OPERATOR);
  });
  afterAll(async () => {
    await web?.stop();
    await stack?.close();
  });

  it('answers POST /api/praise with a reply, its kind, the latency and the model', async () => {
    const { status, json } = await web.praise({ text: '求夸 我今天跑了五公里', userId: 'alice' });
    expect(status).toBe(200);
    expect(json.reply).toEqual(expect.any(String));
    expect(json.reply).toMatch(HAN);
    expect(['praise', 'fallback']).toContain(json.kind);
    expect(json.latencyMs).toEqual(expect.any(Number));
    expect(json.latencyMs as number).toBeGreaterThanOrEqual(0);
    expect(json.model).toEqual(expect.any(String));
    expect((json.model as string).length).toBeGreaterThan(0);
  });

  it('answers a distress post with the care reply (200, kind care) at once, and again to a repeat (a web chat is one to one)', async () => {
    const text = '我不 想活了……';
    const res = await web.praise({ text, userId: 'sad' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ reply: stack.config.distress.reply, kind: 'care' });
    // distress.repeatSeconds only keeps a group from being flooded; one to one, every such message gets the reply (4a8ec18).
    const again = await web.praise({ text, userId: 'sad' });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ reply: stack.config.distress.reply, kind: 'care' });
    const metricsText = await (await fetch(`${web.url}metrics`)).text();
    expect(metricsText).toMatch(/^kuakua_distress_total\{platform="web",outcome="answered",by="pattern"\} [1-9]\d*$/m);
    expect(metricsText).toMatch(/^kuakua_replies_total\{platform="web",kind="care"\} [1-9]\d*$/m);
    expect([...stack.logs, ...web.logs].join('\n')).not.toContain('想活了');
  });

  it('answers distress in words no pattern lists with the care reply in the script it was written in, counted as caught by the reader', async () => {
    const res = await web.praise({ text: INDIRECT_DISTRESS_TRADITIONAL, userId: 'quiet' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ reply: await traditionalCareReply(stack.config.distress), kind: 'care', model: null });
    const metricsText = await (await fetch(`${web.url}metrics`)).text();
    expect(metricsText).toMatch(/^kuakua_distress_total\{platform="web",outcome="answered",by="reader"\} [1-9]\d*$/m);
    expect([...stack.logs, ...web.logs].join('\n')).not.toContain('麻煩大家');
  });

  it.each([
    ['missing text', {}, 400, /text: must be a string/],
    ['empty text', { text: '' }, 400, /text: must not be empty/],
    ['whitespace only', { text: ' \t\n　 ' }, 400, /text: must contain visible characters/],
    ['zero-width and control characters only', { text: '\u200b\u200e\u202e\u0000\u0007' }, 400, /text: must contain visible characters/],
    ['text over the character limit', { text: '夸'.repeat(MAX_TEXT_CHARS + 1) }, 400, new RegExp(`text: must be at most ${MAX_TEXT_CHARS} characters`)],
    ['text is a number', { text: 42 }, 400, /text: must be a string/],
    ['text is an array', { text: ['求夸'] }, 400, /text: must be a string/],
    ['text is null', { text: null }, 400, /text: must be a string/],
    ['chatId is a number', { text: '求夸', chatId: 7 }, 400, /chatId: must be a string/],
    ['userId with markup', { text: '求夸', userId: '<b>x</b>' }, 400, /userId: may contain only/],
    ['userId too long', { text: '求夸', userId: 'u'.repeat(65) }, 400, /userId: must be at most 64/],
    ['unknown field', { text: '求夸', admin: true }, 400, /Unrecognized key: "admin"/],
    ['body is an array', [{ text: '求夸' }], 400, /body: .*expected object/],
    ['body is a string', '求夸', 400, /body: .*expected object/],
    ['body is null', null, 400, /body: .*expected object/],
  ])('%s -> %i with a message naming the field', async (_name, body, status, message) => {
    const res = await web.praise(body);
    expect(res.status).toBe(status);
    expect(res.json.error).toBe('invalid_request');
    expect(res.json.message).toMatch(message);
  });

  it.each([
    ['malformed JSON', '{"text": "求夸"', /not valid JSON/],
    ['empty body', '', /Body is empty/],
    ['trailing garbage', '{"text": "求夸"} x', /not valid JSON/],
  ])('%s -> 400 invalid_json', async (_name, raw, message) => {
    const res = await web.praise(raw, { raw: true });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_json');
    expect(res.json.message).toMatch(message);
  });

  it('rejects a body over http.bodyLimit with 413 (100 000 characters)', async () => {
    const res = await web.praise({ text: 'a'.repeat(100_000) });
    expect(res.status).toBe(413);
    expect(res.json.error).toBe('payload_too_large');
  });

  it('rejects an oversized chunked upload with 413 without buffering it', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(8192));
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent++ >= 8) return controller.close();
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${web.url}api/praise`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['form', 'application/x-www-form-urlencoded'],
    ['no content type', ''],
  ])('rejects %s with 415', async (_name, type) => {
    const res = await fetch(`${web.url}api/praise`, {
      method: 'POST',
      headers: type ? { 'content-type': type } : {},
      body: type ? '{"text":"求夸"}' : new Blob(['{"text":"求夸"}']),
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: 'unsupported_media_type' });
  });

  it('accepts application/json with a charset', async () => {
    const res = await web.praise({ text: '求夸' }, { headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(res.status).toBe(200);
  });

  it('answers a request target that is not a URL with 404, and keeps serving', async () => {
    const { port } = new URL(web.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.end('GET http://[bad HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 404 /);
    expect((await fetch(`${web.url}healthz`)).status).toBe(200);
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    expect((await fetch(`${web.url}api/nope`)).status).toBe(404);
    const get = await fetch(`${web.url}api/praise`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await fetch(`${web.url}healthz`, { method: 'POST' })).status).toBe(405);
  });

  // The shared bad-input table, each input with its own answer: 200 with a reply, or the refusal that names the problem.
  const refused = (status: 400 | 413, error: string, message: unknown) => ({ status, body: { error, message } });
  const API_ANSWERS: Record<BadInputName, { status: 200 } | ReturnType<typeof refused>> = {
    empty: refused(400, 'invalid_request', 'text: must not be empty'),
    'whitespace only': refused(400, 'invalid_request', 'text: must contain visible characters'),
    '100 000 characters': refused(413, 'payload_too_large', expect.stringMatching(/^Body is larger than \d+ bytes$/)),
    'only emoji': { status: 200 },
    'zero-width and RTL marks': { status: 200 },
    'control characters': { status: 200 },
    'lone UTF-16 surrogates': { status: 200 },
    'HTML and script': { status: 200 },
    'all trigger words': { status: 200 },
  };
  it.each(BAD_INPUTS)('bad input "%s" gets its own answer', async (name, text) => {
    const res = await web.praise({ text, chatId: `bad-${name.replace(/\W+/g, '-')}` });
    const expected = API_ANSWERS[name];
    expect(res.status).toBe(expected.status);
    if ('body' in expected) expect(res.json).toEqual(expected.body);
    else expect(res.json.reply).toMatch(HAN);
  });

  it('turns lone surrogates into U+FFFD and still answers', async () => {
    const res = await web.praise('{"text":"\\ud800求夸\\udfff"}', { raw: true });
    expect(res.status).toBe(200);
    expect(res.json.reply).toMatch(HAN);
  });

  it('answers HTML text with JSON (the reply is data, not markup)', async () => {
    const res = await web.praise({ text: '<script>alert(1)</script> 求夸' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('GET /healthz is 200 with Redis, a live worker and the model', async () => {
    const res = await health(web);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ ok: true, redis: true });
    expect(body.workers).toBeGreaterThanOrEqual(1);
    expect(body.model).toEqual(expect.any(String));
  });

  it('GET /healthz gives each adapter its state; one that is not running is a warning, not a 503', async () => {
    setAdapterStatus('telegram', { state: 'retrying', lastError: 'ENOTFOUND api.telegram.org', nextTryAt: Date.now() + 8000 });
    try {
      const res = await health(web);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.adapters.telegram).toMatchObject({ state: 'retrying', lastError: 'ENOTFOUND api.telegram.org', nextTryAt: expect.any(Number) });
      expect(body.warnings).toEqual([expect.stringMatching(/^telegram: retrying \(ENOTFOUND api\.telegram\.org\), next try in [78] s$/)]);
      expect(await (await fetch(`${web.url}metrics`)).text()).toContain('kuakua_adapter_state{adapter="telegram",state="retrying"} 1');
    } finally {
      clearAdapterStatus('telegram');
    }
    expect((await (await health(web)).json()).warnings).toBeUndefined();
  });

  it('GET /metrics is Prometheus text with the web requests and replies counted', async () => {
    const res = await fetch(`${web.url}metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^kuakua_requests_total\{platform="web",outcome="queued"\} [1-9]\d*$/m);
    expect(text).toMatch(/^kuakua_replies_total\{platform="web",kind="(praise|fallback)"\} [1-9]\d*$/m);
    expect(text).toMatch(/^kuakua_end_to_end_latency_seconds_count\{kind="(praise|fallback)"\} [1-9]\d*$/m);
    expect(text).toMatch(/^kuakua_generation_latency_seconds_count [1-9]\d*$/m);
    expect(text).toContain('# TYPE kuakua_queue_depth gauge');
    expect(text).toContain('kuakua_process_resident_memory_bytes');
    expect(text).toMatch(/^kuakua_http_requests_total\{route="\/api\/praise",status="200"\} [1-9]\d*$/m);
    expect(text).toMatch(/^kuakua_http_requests_total\{route="\/api\/praise",status="400"\} [1-9]\d*$/m);
    expect(text).toMatch(/^kuakua_http_requests_total\{route="other",status="404"\} [1-9]\d*$/m);
  });

  it('survives a client that hangs up while waiting, and the late reply is dropped quietly', async () => {
    // A web server whose replies are held until the test lets them through, so the client is sure to hang up first.
    // It takes over the core's web deliveries, which is why this is the last test of the file's first part.
    const gated = gatedCore(stack.core);
    gated.hold();
    const leaver = await startWeb(gated.core, stack.config);
    try {
      const controller = new AbortController();
      const pending = fetch(`${leaver.url}api/praise`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: '求夸 走了', userId: 'leaver' }),
        signal: controller.signal,
      });
      pending.catch(() => {});
      await waitFor(() => gated.arrived.length > 0 || undefined, 'the reply to reach the web server');
      controller.abort();
      await expect(pending).rejects.toThrow();
      gated.release();
      await stack.idle();
      expect(leaver.logs.filter((l) => JSON.parse(l).level >= 50)).toEqual([]);
      const after = await leaver.praise({ text: '求夸 我还在', userId: 'stayer' });
      expect(after.status).toBe(200);
    } finally {
      await leaver.stop();
    }
  });
});

describe('HTTP API security', () => {
  let redis: TestRedis;
  let core: Core;
  const logger = createLogger({ level: 'silent' });

  beforeAll(async () => {
    redis = await startRedis();
    core = await createCore({ config: testConfig(redis.url), logger });
  });
  afterAll(async () => {
    await core?.close();
    await redis?.close();
  });

  it('refuses to bind a non-loopback address without KUAKUA_API_TOKEN', async () => {
    const config = testConfig(redis.url);
    await expect(startWebServer({ ...webOptionsFromConfig(config), host: '0.0.0.0', port: 0, apiToken: undefined, core, logger, registry })).rejects.toThrow(
      /KUAKUA_API_TOKEN/,
    );
  });

  it('binds a non-loopback address with a token, and then the API needs the bearer token (401 otherwise)', async () => {
    const token = 'test-token-5f1c2a';
    const web = await startWeb(core, testConfig(redis.url), { host: '0.0.0.0', apiToken: token });
    try {
      const none = await web.praise({ text: '' });
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect((await web.praise({ text: '' }, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await web.praise({ text: '' }, { headers: { authorization: token } })).status).toBe(401);
      // With the token the request reaches validation (400 for the empty text).
      expect((await web.praise({ text: '' }, { headers: { authorization: `Bearer ${token}` } })).status).toBe(400);
      expect((await fetch(`${web.url}metrics`)).status).toBe(401);
      expect((await fetch(`${web.url}metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      // The WeChat login QR is the operator's, and no KUAKUA_OPERATOR_TOKEN is set.
      expect((await fetch(`${web.url}api/login`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
      // The page and the health check stay open (the page asks for the token).
      expect((await fetch(web.url)).status).toBe(200);
      // Open, not 401: 503 only because no worker runs in this part of the file.
      expect((await fetch(`${web.url}healthz`)).status).toBe(503);
      expect(web.logs.join('\n')).not.toContain(token);
    } finally {
      await web.stop();
    }
  });

  it('limits API requests per client IP with 429 and Retry-After', async () => {
    const web = await startWeb(core, testConfig(redis.url), { rateLimit: { max: 3, windowMs: 60_000 } });
    try {
      for (let i = 0; i < 3; i++) expect((await web.praise('{', { raw: true })).status).toBe(400);
      const limited = await web.praise({ text: '求夸' });
      expect(limited.status).toBe(429);
      expect(limited.json.error).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Reads are not limited.
      expect((await fetch(`${web.url}metrics`)).status).toBe(200);
    } finally {
      await web.stop();
    }
  });
});

describe('HTTP API when no worker answers', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.close();
  });

  let cores = 0;

  /** `stuckWorker`: a live heartbeat of a worker that never takes a job, so requests are queued and time out. */
  async function withCore(
    patch: Parameters<typeof testConfig>[1],
    run: (web: WebFixture, coreLogs: RecordedLogs) => Promise<void>,
    webOptions: Partial<WebOptions> = {},
    { stuckWorker = false } = {},
  ) {
    const config = testConfig(redis.url, patch);
    const keys = redisKeys(config.redis.prefix);
    const admin = new Redis(redis.url);
    if (stuckWorker) await beat(admin, keys, { id: 'stuck', model: 'stuck-model', host: 'test', pid: 0, concurrency: 1, startedAt: Date.now() }, 600);
    // Each core its own reply queue, so a timeout left behind by one test never reaches the next.
    const coreLogs = recordLogs();
    const core = await createCore({ config, logger: coreLogs.logger, instanceId: `web-test-${++cores}` });
    const web = await startWeb(core, config, { ...OPERATOR, ...webOptions });
    try {
      await run(web, coreLogs);
    } finally {
      await web.stop();
      await core.close();
      await removeBeat(admin, keys, 'stuck');
      admin.disconnect();
    }
  }

  it('GET /healthz is 503 naming the problem', async () => {
    await withCore({}, async (web) => {
      const res = await health(web);
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body).toMatchObject({ ok: false, redis: true, workers: 0, model: null });
      expect(body.problems).toContain('no worker online');
    });
  });

  it.each([
    ['fallback', 200, { kind: 'fallback' }],
    ['busy', 503, { error: 'busy', kind: 'busy' }],
    ['silent', 503, { error: 'no_reply' }],
  ] as const)('no worker online, onTimeout %s: answered at once (%i), not after queue.timeoutMs', async (onTimeout, status, body) => {
    const timeoutMs = 20_000;
    await withCore({ queue: { timeoutMs, onTimeout } }, async (web, coreLogs) => {
      const askedAt = performance.now();
      const res = await web.praise({ text: '求夸 没有 worker 也要夸' });
      // Measured: well before queue.timeoutMs (a quarter of it leaves a loaded machine seconds).
      expect(performance.now() - askedAt).toBeLessThan(timeoutMs / 4);
      expect(res.status).toBe(status);
      expect(res.json).toMatchObject(body);
      // The core answered by itself instead of queueing the request for the timeout to answer.
      expect(coreLogs.entries('handled message').map((e) => e.outcome)).toEqual([onTimeout === 'silent' ? 'ignored:no-worker' : `replied:${onTimeout}`]);
      if (onTimeout !== 'silent') expect(res.json.reply).toMatch(HAN);
    });
  });

  it('a worker that does not answer in time, onTimeout fallback: 200 with a tone reply of kind "fallback"', async () => {
    await withCore(
      { queue: { timeoutMs: 1000, onTimeout: 'fallback' } },
      async (web) => {
        const res = await web.praise({ text: '求夸 我学会了做饭' });
        expect(res.status).toBe(200);
        expect(res.json.kind).toBe('fallback');
        expect(res.json.reply).toMatch(HAN);
      },
      {},
      { stuckWorker: true },
    );
  });

  it('a worker that does not answer in time, onTimeout busy: 503 with the busy message', async () => {
    await withCore(
      { queue: { timeoutMs: 1000, onTimeout: 'busy' } },
      async (web) => {
        const res = await web.praise({ text: '求夸' });
        expect(res.status).toBe(503);
        expect(res.json).toMatchObject({ error: 'busy', kind: 'busy' });
        expect(res.json.reply).toMatch(HAN);
        expect(res.headers.get('retry-after')).toBeTruthy();
      },
      {},
      { stuckWorker: true },
    );
  });

  it('a worker that does not answer in time, onTimeout silent: 503 no_reply once the wait is over', async () => {
    await withCore(
      { queue: { timeoutMs: 500, onTimeout: 'silent' } },
      async (web) => {
        const res = await web.praise({ text: '求夸' });
        expect(res.status).toBe(503);
        expect(res.json.error).toBe('no_reply');
      },
      {},
      { stuckWorker: true },
    );
  });

  it('a full queue: 503 busy at once (queue.onFull busy) or without a reply (silent)', async () => {
    await withCore(
      { queue: { maxDepth: 1, timeoutMs: 60_000, onFull: 'busy' } },
      async (web) => {
        const first = fetch(`${web.url}api/praise`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: '求夸', userId: 'u1' }),
        });
        first.catch(() => {});
        await waitFor(async () => (await (await health(web)).json()).queueDepth === 1, 'the first request to be queued');
        const second = await web.praise({ text: '求夸', userId: 'u2' });
        expect(second.status).toBe(503);
        expect(second.json).toMatchObject({ error: 'busy', kind: 'busy' });
      },
      {},
      { stuckWorker: true },
    );
    // The request queued above is still waiting (the worker takes nothing), so the queue is still full.
    await withCore(
      { queue: { maxDepth: 1, timeoutMs: 60_000, onFull: 'silent' } },
      async (web) => {
        const second = await web.praise({ text: '求夸', userId: 'u3' });
        expect(second.status).toBe(503);
        expect(second.json.error).toBe('busy');
      },
      {},
      { stuckWorker: true },
    );
  });

  it('a user in cooldown gets 429 cooldown', async () => {
    await withCore({ cooldown: { byPlatform: { web: 60 } }, queue: { timeoutMs: 500, onTimeout: 'fallback' } }, async (web) => {
      expect((await web.praise({ text: '求夸', userId: 'cool' })).status).toBe(200);
      const again = await web.praise({ text: '求夸', userId: 'cool' });
      expect(again.status).toBe(429);
      expect(again.json.error).toBe('cooldown');
    });
  });
});

describe('HTTP API while Redis is down', () => {
  it('answers 503 within the reply timeout, reports it in /healthz, and works again after Redis is back', async () => {
    const redis = await startRedis();
    const config = testConfig(redis.url, { queue: { timeoutMs: 1000, onTimeout: 'fallback' } });
    const core = await createCore({ config, logger: createLogger({ level: 'silent' }), instanceId: 'web-outage' });
    const web = await startWeb(core, config, { replyTimeoutMs: 2000, ...OPERATOR });
    try {
      await redis.stop();
      const down = await web.praise({ text: '求夸 停电了' });
      expect(down.status).toBe(503);
      expect(['unavailable', 'no_reply']).toContain(down.json.error);
      const reported = await health(web);
      expect(reported.status).toBe(503);
      expect((await reported.json()).problems).toContain('redis unreachable');

      await redis.start();
      const deadline = Date.now() + 20_000;
      let back = await web.praise({ text: '求夸 来电了' });
      while (back.status !== 200 && Date.now() < deadline) back = await web.praise({ text: '求夸 来电了' });
      expect(back.status).toBe(200);
      expect(back.json.reply).toMatch(HAN);
    } finally {
      await web.stop();
      await core.close();
      await redis.close();
    }
  });
});

describe('HTTP API with the bundled model', () => {
  let stack: Stack;
  let web: WebFixture;

  beforeAll(async () => {
    stack = await startStack({}, { bundledSeed: PRAISE_SEED });
    web = await startWeb(stack.core, stack.config);
  });
  afterAll(async () => {
    await web?.stop();
    await stack?.close();
  });

  it('answers posts it handles well with kind praise and a reply it generated, not a tone reply (seed fixed)', async () => {
    for (const [i, text] of PRAISED_POSTS.entries()) {
      const { status, json } = await web.praise({ text, userId: `praised-${i}` });
      expect(status).toBe(200);
      expect(json).toMatchObject({ kind: 'praise', model: 'kuakua-mini' });
      expectGeneratedReply(json.reply, stack.sampled(text), stack.config.policy.maxReplyChars);
    }
  });
});
