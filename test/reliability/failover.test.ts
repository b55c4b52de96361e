import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeTelegram } from '../fakes/telegram.ts';
import { spawnKuakua } from '../helpers/cli.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { praiseQueues, queuesIdle } from '../helpers/queues.ts';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { configFile, startWorkerProcess, tempDir } from './support.ts';

// A master, its replica and three sentinels on 127.0.0.1 (`redis-server --sentinel`, the same binary), with timings
// tight enough for a test: a master silent for 1 s is down, and a failover that stalls is retried after 2 s.
const GROUP = 'kuakua-test';
const FLOOD = 200;
const OPERATOR = 'failover-operator-token-8e1d';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function redisServer(opts: Parameters<typeof startRedis>[0] = {}): Promise<TestRedis> {
  const r = await startRedis(opts);
  cleanups.push(() => r.close());
  return r;
}

/** Runs fn with a short-lived client of the server on port; fails fast instead of waiting for a server that is gone. */
async function ask<T>(port: number, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

async function startSentinel(masterPort: number): Promise<number> {
  const port = await freePort();
  const dir = tempDir('kuakua-sentinel-');
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${GROUP} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${GROUP} 1000`,
      `sentinel failover-timeout ${GROUP} 2000`,
      `sentinel parallel-syncs ${GROUP} 1`,
      '',
    ].join('\n'),
  );
  const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  cleanups.push(async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  });
  await waitFor(() => ask(port, async (c) => (await c.ping()) === 'PONG').catch(() => false), `the sentinel on port ${port}`, 10_000);
  return port;
}

/** What a sentinel knows of the group: the master's port, how many replicas and other sentinels it has found. */
async function sentinelView(port: number): Promise<{ master: number; replicas: number; sentinels: number }> {
  return ask(port, async (c) => {
    const [, masterPort] = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', GROUP)) as [string, string];
    const replicas = (await c.call('SENTINEL', 'REPLICAS', GROUP)) as unknown[];
    const sentinels = (await c.call('SENTINEL', 'SENTINELS', GROUP)) as unknown[];
    return { master: Number(masterPort), replicas: replicas.length, sentinels: sentinels.length };
  });
}

interface Outcome {
  via: 'http' | 'telegram';
  sentAt: number;
  /** Replies the message got: text and when. */
  replies: { text: string; at: number }[];
}

describe('Redis Sentinel failover', () => {
  it(`the master is killed (SIGKILL) during a flood of ${FLOOD} messages: the replica is promoted, \`kuakua bot\` and \`kuakua worker\` follow it through the sentinels, every message is answered once or told busy, none lost`, async () => {
    const master = await redisServer();
    const replica = await redisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    await waitFor(() => ask(replica.port, async (c) => /master_link_status:up/.test(await c.info('replication'))), 'the replica to sync');
    const sentinels = await Promise.all([1, 2, 3].map(() => startSentinel(master.port)));

    const fake = await startFakeTelegram();
    cleanups.push(() => fake.close());
    const port = await freePort();
    const { path, config } = configFile(master.url, {
      instance: { id: 'failover-bot' },
      http: { port, rateLimitPerMinute: 0 },
      cooldown: { userSeconds: 0, byPlatform: { web: 0 } },
      rateLimit: { chatPerMinute: 0 },
      // Short locks: a job or a reply taken on the master just before the kill, whose lock the new master still holds,
      // is taken again within 4 s, and the test sees it end.
      queue: { timeoutMs: 8000, lockDurationMs: 3000, stalledIntervalMs: 1000 },
      worker: { concurrency: 4, heartbeatSeconds: 2 },
      model: { dir: await makeRandomModel(), variant: 'fp32', threads: 1, candidates: 1, maxNewTokens: 8 },
    });
    const viaSentinels = { REDIS_SENTINELS: sentinels.map((p) => `127.0.0.1:${p}`).join(','), REDIS_SENTINEL_NAME: GROUP };
    // REDIS_URL names the master too: with sentinels set it must not be used, or nothing would follow the failover.
    const bot = spawnKuakua(['bot'], {
      REDIS_URL: master.url,
      KUAKUA_CONFIG: path,
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      KUAKUA_OPERATOR_TOKEN: OPERATOR,
      ...viaSentinels,
    });
    cleanups.push(() => bot.stop());
    const [worker] = await Promise.all([
      startWorkerProcess(master.url, path, viaSentinels),
      bot.waitForOutput('telegram adapter started', 'the bot and its telegram adapter'),
      // A failover needs a majority of sentinels that know each other and the replica (they meet through the master).
      waitFor(
        async () => (await Promise.all(sentinels.map(sentinelView))).every((v) => v.master === master.port && v.replicas === 1 && v.sentinels === 2),
        'the sentinels to find the replica and each other',
        15_000,
      ),
    ]);
    cleanups.push(() => worker.stop());
    const outcomes: Outcome[] = [];
    const http = async (o: Outcome, text: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/praise`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
      });
      const body = (await res.json()) as { reply?: string; error?: string };
      // A 503 without a reply (unavailable, no_reply) is neither an answer nor a busy reply: it counts as lost.
      if (body.reply) o.replies.push({ text: res.status === 200 ? body.reply : config.messages.busy, at: Date.now() });
    };
    const chat = { id: -5150, type: 'supergroup' as const, title: 'failover group' };
    const telegramIds = new Map<number, Outcome>();
    const send = (i: number) => {
      const o: Outcome = { via: i % 2 ? 'telegram' : 'http', sentAt: Date.now(), replies: [] };
      outcomes.push(o);
      const text = `求夸 第${i}条`;
      if (o.via === 'http') return http(o, text);
      telegramIds.set(fake.userMessage({ chat, from: { id: 9000 + i, is_bot: false, first_name: `u${i}` }, text }).message_id, o);
      return Promise.resolve();
    };
    const answered = () => outcomes.filter((o) => o.replies.some((r) => r.text !== config.messages.busy)).length;

    // One message every 40 ms: the pace spreads the flood over the outage; no assertion depends on it.
    const requests: Promise<void>[] = [];
    let killedAt = 0;
    for (let i = 0; i < FLOOD; i++) {
      requests.push(send(i));
      if (!killedAt && i >= 40 && answered() >= 10) {
        killedAt = Date.now();
        await master.kill();
      }
      await sleep(40);
    }
    expect(killedAt).toBeGreaterThan(0);
    await Promise.all(requests);

    const telegramReplies = () => {
      for (const o of telegramIds.values()) o.replies.length = 0;
      for (const call of fake.calls.filter((c) => c.method === 'sendMessage')) {
        const to = telegramIds.get(Number((call.payload.reply_parameters as { message_id?: number } | undefined)?.message_id));
        to?.replies.push({ text: String(call.payload.text), at: call.at });
      }
    };
    await waitFor(
      () => {
        telegramReplies();
        return [...telegramIds.values()].every((o) => o.replies.length > 0);
      },
      'a reply to every Telegram message',
      config.queue.timeoutMs + 10_000,
    );
    // The sentinels promoted the replica; everything pending on it is done, so no late second answer can come.
    expect((await sentinelView(sentinels[0]!)).master).toBe(replica.port);
    const queues = praiseQueues(config, replica.url, ['failover-bot']);
    cleanups.push(() => Promise.all(queues.map((q) => q.close())));
    await queuesIdle(queues);
    telegramReplies();

    const busy = outcomes.filter((o) => o.replies.length === 1 && o.replies[0]!.text === config.messages.busy).length;
    const lost = outcomes.filter((o) => o.replies.length === 0).length;
    const twice = outcomes.filter((o) => o.replies.length > 1).length;
    const recoveredAt = Math.min(
      ...outcomes.filter((o) => o.sentAt > killedAt).flatMap((o) => o.replies.filter((r) => r.text !== config.messages.busy).map((r) => r.at)),
    );
    const recoveryMs = recoveredAt - killedAt;
    console.log(
      `failover: ${FLOOD} sent, ${answered()} answered, ${busy} busy, ${lost} lost, ${twice} twice; recovered ${recoveryMs} ms after the kill (new master :${replica.port})`,
    );
    expect({ lost, twice }).toEqual({ lost: 0, twice: 0 });
    expect(answered() + busy).toBe(FLOOD);
    // Messages sent after the kill were answered through the new master.
    expect(Number.isFinite(recoveryMs)).toBe(true);
    // The bot's own count of answers delivered: one per message on each path, so none went out twice on the web either.
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const delivered = (platform: string) =>
      [...metrics.matchAll(new RegExp(`^kuakua_replies_total\\{platform="${platform}",kind="\\w+"\\} (\\d+)`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
    expect({ web: delivered('web'), telegram: delivered('telegram') }).toEqual({ web: FLOOD / 2, telegram: FLOOD / 2 });
    // The operator sees which Redis the bot uses: the sentinels and the group, never a server's own address.
    const at = `sentinel master ${GROUP} via ${viaSentinels.REDIS_SENTINELS}`;
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { authorization: `Bearer ${OPERATOR}` } })).json();
    expect(health).toMatchObject({ ok: true, redis: true, redisAt: at });
    expect(metrics).toContain(`kuakua_redis_up{target="${at}"} 1`);

    // The bot and the worker went through it without crashing, and say so only in their logs.
    expect(bot.alive()).toBe(true);
    expect(worker.alive()).toBe(true);
    for (const out of [bot.output(), worker.output()]) expect(out).not.toMatch(/uncaught|unhandled|"level":60/i);
  }, 90_000);
});
