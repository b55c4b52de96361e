/**
 * Load run (`npm run load`): 1000 求夸 messages in 10 s from 50 users into one chat, once through the HTTP API and once
 * through Telegram (telegraf talking to the fake Bot API server), against real processes: `kuakua bot` (web + Telegram)
 * and `kuakua worker` on a private redis-server. Each entry point runs twice: with the shipped limits (cooldown, chat
 * rate limit, per-IP limit) and with every limit off, so that the queue fills and back-pressure has to hold it. The
 * HTTP runs are made twice more, asking for a chorus of 1 and of 3 (the web's default): replies per second, and the
 * latency of the first reply (the HTTP answer carries them all).
 *
 * Prints a table and writes bench/results/load.json and the Load section of BENCHMARKS.md.
 * Options: --model DIR (default models/kuakua-mini when exported, else a random model of its shape), --variant, --messages N, --seconds S.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { loadConfig } from '../src/app/config.ts';
import { liveWorkers } from '../src/heartbeat.ts';
import { redisKeys } from '../src/queue/contracts.ts';
import { startFakeTelegram, type FakeTelegram } from '../test/fakes/telegram.ts';
import { makeRandomModel } from '../test/helpers/model.ts';
import { freePort, startRedis, type TestRedis } from '../test/helpers/redis.ts';
import { spawnKuakua, type KuakuaProcess } from '../test/helpers/cli.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MARKDOWN = join(ROOT, 'BENCHMARKS.md');
const START = '<!-- load:start -->';
const END = '<!-- load:end -->';
const CHAT = 'load-chat';
/** What the flood asks to be praised for, in turn: everyday posts, some the bundled model praises well and some not. */
const POSTS = [
  '考研上岸了！',
  '我升职了',
  '第一次做蛋糕成功了',
  '今天终于把房间收拾干净了',
  '今天学会了骑自行车',
  '给妈妈做了一顿饭',
  '坚持早起一个月了',
  '画了一幅猫',
  '帮同事修好了电脑',
  '我今天跑完了5公里',
];
const post = (i: number) => `求夸 ${POSTS[i % POSTS.length]}`;
const USERS = 50;

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    variant: { type: 'string', default: 'int8' },
    messages: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
  },
});
const MESSAGES = Number(args.messages);
const SECONDS = Number(args.seconds);

type Outcome = 'reply' | 'refused' | 'busy' | 'silent' | 'error';
interface Sample {
  outcome: Outcome;
  /** Send to answer, for answered messages. */
  ms?: number;
  /** Replies in the answer (a chorus), for answered messages. */
  replies?: number;
}
interface RunResult {
  entry: 'http' | 'telegram';
  limits: 'default' | 'off';
  /** Replies asked for per message (the web API's `chorus`). */
  chorus: number;
  sent: number;
  replies: number;
  /** Every reply of every answer (a chorus of 3 counts 3), per second of the run. */
  repliesPerS: number;
  /** Replies per answered message: below the chorus asked for when fewer candidates were acceptable. */
  repliesPerAnswer: number;
  refused: number;
  busy: number;
  silent: number;
  /** Answers that were the onTimeout template because no worker got to the request within queue.timeoutMs. */
  timeouts: number;
  errors: number;
  p50: number | null;
  p99: number | null;
  /** The core's own count of the ways messages were taken (kuakua_requests_total by outcome). */
  coreOutcomes: Record<string, number>;
  peakQueueDepth: number;
  peakRssMb: Record<string, number>;
  finalRssMb: Record<string, number>;
  crashed: string[];
  durationS: number;
}

async function modelDir(): Promise<{ dir: string; name: string }> {
  if (args.model) return { dir: resolve(args.model), name: args.model };
  const mini = join(ROOT, 'models/kuakua-mini');
  if (existsSync(join(mini, 'onnx/model.onnx'))) return { dir: mini, name: 'kuakua-mini' };
  const dir = await makeRandomModel({ layers: 6, heads: 8, hidden: 512, positions: 256 });
  return { dir, name: 'random (6 layers, 8 heads, 512 hidden: the kuakua-mini shape; kuakua-mini was not exported yet)' };
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!);
};

/** Resident set size now and at its peak (VmHWM) of a process, in MB. */
function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

function parseRequestCounters(metrics: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics.matchAll(/^kuakua_requests_total\{platform="(\w+)",outcome="([^"]+)"\} (\d+)/gm)) out[`${m[1]}:${m[2]}`] = Number(m[3]);
  return out;
}

interface Stack {
  redis: TestRedis;
  bot: KuakuaProcess;
  worker: KuakuaProcess;
  telegram: FakeTelegram;
  port: number;
  busyText: string;
  queue: Queue;
  redisPid: number;
  close(): Promise<void>;
}

async function startStack(limits: 'default' | 'off', model: string): Promise<Stack> {
  const redis = await startRedis();
  const telegram = await startFakeTelegram();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kuakua-load-'));
  const settings: Record<string, unknown> = {
    log: { level: 'warn' },
    instance: { id: 'load-bot' },
    http: { port },
    model: { dir: model, variant: args.variant, threads: 0 },
    wechat: { memoryDir: join(dir, 'wechat') },
  };
  if (limits === 'off')
    Object.assign(settings, { cooldown: { userSeconds: 0, byPlatform: { web: 0 } }, rateLimit: { chatPerMinute: 0 }, http: { port, rateLimitPerMinute: 0 } });
  const configPath = join(dir, 'kuakua.yaml');
  writeFileSync(configPath, stringify(settings));
  const config = loadConfig({ env: { REDIS_URL: redis.url, KUAKUA_CONFIG: configPath } });
  const env = { REDIS_URL: redis.url, KUAKUA_CONFIG: configPath, KUAKUA_LOG_LEVEL: 'warn' };
  const worker = spawnKuakua(['worker'], env);
  const bot = spawnKuakua(['bot'], { ...env, TELEGRAM_BOT_TOKEN: telegram.token, TELEGRAM_API_ROOT: telegram.apiRoot });
  await bot.waitForOutput('kuakua bot:', 'the bot', 90_000);
  const admin = new Redis(redis.url);
  // The worker logs at warn, so its heartbeat key says when it is ready.
  for (let i = 0; (await liveWorkers(admin, redisKeys(config.redis.prefix))).length === 0; i++) {
    if (!worker.alive() || i > 900) throw new Error(`the worker did not start:\n${worker.output().slice(-2000)}`);
    await sleep(100);
  }
  const info = await admin.info('server');
  const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  admin.disconnect();
  const queue = new Queue(config.queue.name, { connection: { url: redis.url }, prefix: config.redis.prefix });
  return {
    redis,
    bot,
    worker,
    telegram,
    port,
    queue,
    redisPid,
    busyText: config.messages.busy,
    async close() {
      await Promise.all([bot.stop(), worker.stop()]);
      await queue.close();
      await telegram.close();
      await redis.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends `count` messages evenly over `seconds`, each with send(i) (which resolves when that message's fate is known). */
async function paced(count: number, seconds: number, send: (i: number) => Promise<Sample>): Promise<Sample[]> {
  const t0 = performance.now();
  const pending: Promise<Sample>[] = [];
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * seconds * 1000) / count;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(send(i).catch(() => ({ outcome: 'error' as const })));
  }
  return Promise.all(pending);
}

async function httpRun(s: Stack, chorus: number): Promise<Sample[]> {
  const url = `http://127.0.0.1:${s.port}/api/praise`;
  return paced(MESSAGES, SECONDS, async (i) => {
    const started = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: post(i), chatId: CHAT, userId: `user-${i % USERS}`, chorus }),
    });
    const body = (await res.json()) as { kind?: string; replies?: unknown[] };
    const ms = performance.now() - started;
    if (res.status === 200) return { outcome: 'reply', ms, replies: body.replies?.length ?? 1 };
    if (res.status === 429) return { outcome: 'refused' };
    if (res.status === 503 && body.kind === 'busy') return { outcome: 'busy', ms };
    if (res.status === 503) return { outcome: 'silent' };
    return { outcome: 'error' };
  });
}

async function telegramRun(s: Stack, drainMs: number): Promise<Sample[]> {
  const chat = { id: -100_777, type: 'supergroup' as const, title: 'load group' };
  const users = Array.from({ length: USERS }, (_, i) => ({ id: 10_000 + i, is_bot: false, first_name: `u${i}` }));
  const sentAt = new Map<number, number>();
  const t0 = Date.now();
  await paced(MESSAGES, SECONDS, async (i) => {
    const m = s.telegram.userMessage({ chat, from: users[i % USERS]!, text: post(i) });
    sentAt.set(m.message_id, Date.now());
    return { outcome: 'silent' };
  });
  // Telegram has no response per message: wait until the queue is empty and no reply came for a while.
  let last = s.telegram.calls.length;
  let quietSince = Date.now();
  while (Date.now() - t0 < SECONDS * 1000 + drainMs) {
    await sleep(500);
    const busy = (await s.queue.count()) + (await s.queue.getActiveCount());
    if (s.telegram.calls.length !== last || busy > 0) {
      last = s.telegram.calls.length;
      quietSince = Date.now();
    } else if (Date.now() - quietSince > 5000) break;
  }
  const answered = new Map<number, { at: number; text: string }>();
  for (const c of s.telegram.calls) {
    if (c.method !== 'sendMessage') continue;
    const to = (c.payload.reply_parameters as { message_id?: number } | undefined)?.message_id;
    if (to !== undefined && !answered.has(to)) answered.set(to, { at: c.at, text: String(c.payload.text ?? '') });
  }
  return [...sentAt].map(([id, at]) => {
    const a = answered.get(id);
    if (!a) return { outcome: 'silent' };
    return { outcome: a.text === s.busyText ? 'busy' : 'reply', ms: a.at - at };
  });
}

async function run(entry: 'http' | 'telegram', limits: 'default' | 'off', chorus: number, model: string): Promise<RunResult> {
  const s = await startStack(limits, model);
  const pids: Record<string, number> = { bot: s.bot.proc.pid!, worker: s.worker.proc.pid!, 'redis-server': s.redisPid };
  const peakRss: Record<string, number> = {};
  let peakDepth = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakDepth = Math.max(peakDepth, (await s.queue.count().catch(() => 0)) + (await s.queue.getActiveCount().catch(() => 0)));
      for (const [name, pid] of Object.entries(pids)) {
        try {
          peakRss[name] = Math.max(peakRss[name] ?? 0, rss(pid).peak);
        } catch {
          // the process is gone; the crash check reports it
        }
      }
      await sleep(100);
    }
  })();
  const t0 = performance.now();
  const samples = entry === 'http' ? await httpRun(s, chorus) : await telegramRun(s, 40_000);
  const durationS = (performance.now() - t0) / 1000;
  sampling = false;
  await sampler;
  const metrics = await fetch(`http://127.0.0.1:${s.port}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const finalRss = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, Math.round(rss(pid).now)]));
  const timeouts = s.bot.output().split('no worker answered in time').length - 1;
  const crashed = [
    ['bot', s.bot],
    ['worker', s.worker],
  ]
    .filter(([, p]) => !(p as KuakuaProcess).alive())
    .map(([n]) => n as string);
  const fatal = [s.bot.output(), s.worker.output()]
    .join('\n')
    .split('\n')
    .filter((l) => /"level":(50|60)|uncaught|unhandled/i.test(l));
  if (fatal.length) console.log(`  errors logged:\n    ${fatal.slice(0, 5).join('\n    ')}`);
  await s.close();

  const count = (o: Outcome) => samples.filter((x) => x.outcome === o).length;
  const totalReplies = samples.reduce((n, x) => n + (x.outcome === 'reply' ? (x.replies ?? 1) : 0), 0);
  const latencies = samples.filter((x) => x.outcome === 'reply').map((x) => x.ms!);
  const core = parseRequestCounters(metrics);
  const platform = entry === 'http' ? 'web' : 'telegram';
  const coreOutcomes = Object.fromEntries(
    Object.entries(core)
      .filter(([k]) => k.startsWith(`${platform}:`))
      .map(([k, v]) => [k.slice(platform.length + 1), v]),
  );
  // Telegram refusals are silent by default (cooldown.notify false): the core's counters tell them from busy silence.
  const refused = entry === 'http' ? count('refused') : (coreOutcomes['ignored:cooldown'] ?? 0) + (coreOutcomes['ignored:rate-limited'] ?? 0);
  return {
    entry,
    limits,
    chorus,
    sent: samples.length,
    replies: count('reply'),
    repliesPerS: Math.round((totalReplies / durationS) * 10) / 10,
    repliesPerAnswer: count('reply') ? Math.round((totalReplies / count('reply')) * 100) / 100 : 0,
    refused,
    busy: count('busy'),
    silent: entry === 'http' ? count('silent') : count('silent') - refused,
    timeouts,
    errors: count('error') + fatal.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    coreOutcomes,
    peakQueueDepth: peakDepth,
    peakRssMb: Object.fromEntries(Object.entries(peakRss).map(([k, v]) => [k, Math.round(v)])),
    finalRssMb: finalRss,
    crashed,
    durationS: Math.round(durationS),
  };
}

function markdown(results: RunResult[], model: string, variant: string): string {
  const lines = [
    START,
    '## Load',
    '',
    `\`npm run load\` — ${new Date().toISOString().slice(0, 16)}Z. ${MESSAGES} 求夸 messages (${POSTS.length} everyday posts in turn) in ${SECONDS} s from ${USERS} users into one chat,`,
    'against `kuakua bot` (web API + Telegram adapter, the Telegram side talking to the fake Bot API server) and one',
    `\`kuakua worker\` (concurrency 4) on a private redis-server, on the 2-core machine the tests run on. Model: ${model}, ${variant}.`,
    '"default" keeps the shipped limits (per-user cooldown 10 s, 20 requests per chat per minute, 60 API requests per IP per',
    'minute); "off" turns them all off so that only the queue bound (queue.maxDepth 200, then the busy reply) holds the flood.',
    'Latency is from sending the message to its answer (HTTP response, or the sendMessage the fake server received).',
    '',
    '| entry | limits | chorus | sent | answered (of them timeout fallbacks) | replies/s (per answer) | cooldown / rate-limit refusals | busy replies | no answer | errors | p50 / p99 ms (first reply) | peak queue depth | peak RSS MB: bot / worker / redis | crashed |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const rss = `${r.peakRssMb.bot} / ${r.peakRssMb.worker} / ${r.peakRssMb['redis-server']}`;
    lines.push(
      `| ${r.entry} | ${r.limits} | ${r.chorus} | ${r.sent} | ${r.replies} (${r.timeouts}) | ${r.repliesPerS} (${r.repliesPerAnswer}) | ${r.refused} | ${r.busy} | ${r.silent} | ${r.errors} | ${r.p50 ?? '–'} / ${r.p99 ?? '–'} | ${r.peakQueueDepth} | ${rss} | ${r.crashed.join(', ') || 'none'} |`,
    );
  }
  lines.push(
    '',
    '"no answer" counts messages the bot stayed silent on for a reason other than a limit: for HTTP a 503 without a busy',
    'text; for Telegram, messages with no reply that the core did not count as refused. Refusals on Telegram are silent by',
    "default (cooldown.notify: false), so they are taken from the core's `kuakua_requests_total` counters.",
    'A chorus is made only of acceptable candidates (policy.minScore): "per answer" is how many replies an answered',
    'message got on average, below the chorus asked for when fewer were acceptable (a tone reply is always one).',
    '',
    END,
  );
  return lines.join('\n');
}

function writeSection(section: string): void {
  const old = existsSync(MARKDOWN) ? readFileSync(MARKDOWN, 'utf8') : '# Benchmarks\n';
  const [a, b] = [old.indexOf(START), old.indexOf(END)];
  writeFileSync(MARKDOWN, a >= 0 && b > a ? `${old.slice(0, a)}${section}${old.slice(b + END.length)}` : `${old.trimEnd()}\n\n${section}\n`);
}

const model = await modelDir();
console.log(`model: ${model.name} (${args.variant}); ${MESSAGES} messages in ${SECONDS} s from ${USERS} users into one chat`);
const results: RunResult[] = [];
// Telegram asks for the platforms' default chorus (1); the web API for 1 and for 3, in the same run.
const RUNS = [
  ['http', 1],
  ['http', 3],
  ['telegram', 1],
] as const;
for (const limits of ['default', 'off'] as const) {
  for (const [entry, chorus] of RUNS) {
    console.log(`\n${entry}, limits ${limits}, chorus ${chorus}`);
    const r = await run(entry, limits, chorus, model.dir);
    console.log(
      `  ${r.replies} answered (${r.timeouts} timeout fallbacks), ${r.repliesPerS} replies/s, ${r.refused} refused, ${r.busy} busy, ${r.silent} no answer, ${r.errors} errors; p50 ${r.p50} ms, p99 ${r.p99} ms`,
    );
    console.log(
      `  peak queue depth ${r.peakQueueDepth}; peak RSS MB ${JSON.stringify(r.peakRssMb)}, final ${JSON.stringify(r.finalRssMb)}; crashed: ${r.crashed.join(', ') || 'none'}`,
    );
    console.log(`  core outcomes ${JSON.stringify(r.coreOutcomes)}`);
    results.push(r);
  }
}
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench/results/load.json'),
  `${JSON.stringify({ model: model.name, variant: args.variant, messages: MESSAGES, seconds: SECONDS, users: USERS, results }, null, 2)}\n`,
);
writeSection(markdown(results, model.name, args.variant));
console.log('\nwrote bench/results/load.json and the Load section of BENCHMARKS.md');
const failed = results.some((r) => r.crashed.length > 0 || r.errors > 0);
process.exit(failed ? 1 : 0);
