import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { Core } from '../../src/adapter.ts';
import { createCore } from '../../src/core.ts';
import { z } from 'zod';
import { appConfigSchema, loadConfig, type AppConfig } from '../../src/app/config.ts';
import type { Delivery, IncomingMessage, Platform } from '../../src/events.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import type { PostReader } from '../../src/reading.ts';
import type { Engine } from '../../worker/engine/index.ts';
import { startWorker, type RunningWorker } from '../../worker/service.ts';
import { praiseQueues, queuesIdle } from '../helpers/queues.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

export const silentLogger = createLogger({ level: 'silent' });

type Patch<T> = { [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? Patch<T[K]> : T[K] };

function apply(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(patch)) {
    const cur = target[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur))
      apply(cur as Record<string, unknown>, v as Record<string, unknown>);
    else target[k] = v;
  }
}

/**
 * The default config pointed at a test Redis, with fast timings and the given changes; the result must pass the config
 * schema, so a misspelt key or a wrong type fails the test at once instead of being ignored.
 */
export function testConfig(redisUrl: string, patch: Patch<AppConfig> = {}): AppConfig {
  const { secrets, ...config } = loadConfig({ env: { REDIS_URL: redisUrl } });
  apply(config, {
    queue: { timeoutMs: 20_000, stalledIntervalMs: 5_000, backoff: { type: 'fixed', delayMs: 100 } },
    worker: { heartbeatSeconds: 1 },
  });
  apply(config, patch as Record<string, unknown>);
  const checked = appConfigSchema.safeParse(config);
  if (!checked.success) throw new Error(`testConfig: the patched config does not fit the config schema\n${z.prettifyError(checked.error)}`);
  return { ...checked.data, secrets };
}

let counter = 0;
/** A group message on Telegram asking for praise, unless overridden. */
export function message(over: Partial<IncomingMessage> = {}): IncomingMessage {
  counter += 1;
  return {
    platform: 'telegram',
    chatId: 'group-1',
    messageId: `m${counter}-${Date.now()}`,
    userId: `user-${counter}`,
    userName: 'Alice',
    text: '求夸 我今天跑了五公里',
    isPrivate: false,
    mentionsBot: false,
    repliesToBot: false,
    fromBot: false,
    ...over,
  };
}

/** Records what the core delivers for a platform. */
export function collect(core: Core, platform: Platform = 'telegram'): Delivery[] {
  const got: Delivery[] = [];
  core.onDelivery(platform, async (d) => {
    got.push(d);
  });
  return got;
}

export { waitFor } from '../helpers/wait.ts';

export interface ServiceFixture {
  redis: TestRedis;
  /** A plain client for looking at keys. */
  admin: Redis;
  /** A bot core that is closed after the test (logging nowhere unless given a logger), with the given post reader. */
  core(config: AppConfig, instanceId?: string, logger?: Logger, reader?: PostReader): Promise<Core>;
  /** A worker that is closed (before the cores) after the test. */
  worker(config: AppConfig, engine: Engine): Promise<RunningWorker>;
  /** Resolves once the request queue and these bots' reply queues have nothing waiting, delayed or running. */
  idle(config: AppConfig, instanceIds?: string[]): Promise<void>;
}

/** A private redis-server for the test file, emptied before each test; cores and workers are closed after each test. */
export function useServiceFixture(): ServiceFixture {
  const cores: Core[] = [];
  const workers: RunningWorker[] = [];
  const f = {
    async core(config: AppConfig, instanceId = 'bot-a', logger: Logger = silentLogger, reader?: PostReader) {
      const c = await createCore({ config, logger, instanceId, reader });
      cores.push(c);
      return c;
    },
    async worker(config: AppConfig, engine: Engine) {
      const w = await startWorker({ config, logger: silentLogger, engine });
      workers.push(w);
      return w;
    },
    async idle(config: AppConfig, instanceIds = ['bot-a']) {
      const queues = praiseQueues(config, f.redis.url, instanceIds);
      try {
        await queuesIdle(queues);
      } finally {
        await Promise.all(queues.map((q) => q.close()));
      }
    },
  } as ServiceFixture;
  beforeAll(async () => {
    f.redis = await startRedis();
    f.admin = new Redis(f.redis.url);
  });
  afterAll(async () => {
    f.admin?.disconnect();
    await f.redis?.close();
  });
  beforeEach(async () => {
    await f.admin.flushall();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await Promise.all(cores.splice(0).map((c) => c.close()));
  });
  return f;
}
