import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { NOW_MS } from './heartbeat.ts';
import { replyQueueName, type RedisKeys } from './queue/contracts.ts';
import { withTimeout } from './timeout.ts';

export interface Janitor {
  /** One sweep now (also run at start and on a timer). */
  sweep(): Promise<void>;
  /** Waits at most waitMs for Redis; then the other bots delete this bot's reply queue once its keep date has passed. */
  stop(waitMs: number): Promise<void>;
}

/*
 * The reply queue index: a sorted set of bot instance ids scored by when their reply queue may be deleted (Redis server
 * time). Whoever writes to a reply queue indexes it first, so a sweep reads the expired ids and nothing else; the
 * keyspace is never scanned.
 */

/** Moves the date only forward: a worker's reply never shortens what a live bot has asked for. */
const KEEP = `${NOW_MS}
return redis.call('ZADD', KEYS[1], 'GT', now + tonumber(ARGV[2]), ARGV[1])`;

const EXPIRED = `${NOW_MS}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)`;

/** Forgets an id only while it is still expired: a reply written to its queue during the sweep keeps it indexed. */
const FORGET = `${NOW_MS}
local keep = redis.call('ZSCORE', KEYS[1], ARGV[1])
if keep and tonumber(keep) <= now then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0`;

/** Keeps `instanceId`'s reply queue for at least `keepSeconds` more; call it before writing to that queue. */
export async function keepReplyQueue(redis: Redis, keys: RedisKeys, instanceId: string, keepSeconds: number): Promise<void> {
  await redis.eval(KEEP, 1, keys.replyQueues(), instanceId, Math.round(keepSeconds * 1000));
}

/** Instance ids whose reply queue has outlived its keep date. */
async function expiredReplyQueues(redis: Redis, keys: RedisKeys): Promise<string[]> {
  return (await redis.eval(EXPIRED, 1, keys.replyQueues())) as string[];
}

/**
 * Keeps users' texts in Redis no longer than their purpose. Each bot process:
 * - keeps its reply queue in the index for queue.retention.orphanSeconds more, again and again while it runs;
 * - deletes the reply queues whose keep date has passed (their bot is gone), with the replies and posts in them;
 * - deletes finished jobs of the request queue and of its own reply queue older than queue.retention.ageSeconds,
 *   and requests that have waited that long (their timeout answered them long ago; no worker will come for them).
 * Sweeps run at start and then every min(60 s, half the shorter retention). A bot whose instance id is made up for the
 * process (no instance.id / KUAKUA_INSTANCE_ID) deletes its own reply queue when it stops: no process will ever
 * consume it again.
 */
export function startJanitor(opts: {
  redis: Redis;
  keys: RedisKeys;
  config: Config;
  instanceId: string;
  /** The id is made up for this process (hostname-pid): nobody will come back for its reply queue after it stops. */
  ephemeral: boolean;
  requests: Queue;
  replies: Queue;
  logger: Logger;
}): Janitor {
  const { redis, keys, config, instanceId, ephemeral, requests, replies, logger } = opts;
  const { ageSeconds, orphanSeconds } = config.queue.retention;
  const prefix = config.redis.prefix;
  const ageMs = ageSeconds * 1000;
  const everyMs = Math.max(1000, Math.min(60_000, (Math.min(ageSeconds, orphanSeconds) * 1000) / 2));
  let running: Promise<void> | undefined;
  let stopped = false;

  const alive = () => keepReplyQueue(redis, keys, instanceId, orphanSeconds);

  const removeOrphans = async () => {
    for (const id of await expiredReplyQueues(redis, keys)) {
      if (id === instanceId || stopped) continue;
      const orphan = new Queue(replyQueueName(config.queue.name, id), { connection: redis, prefix });
      orphan.on('error', () => {});
      try {
        const jobs = await orphan.getJobCountByTypes('wait', 'delayed', 'completed', 'failed', 'prioritized');
        await orphan.obliterate({ force: true });
        await redis.eval(FORGET, 1, keys.replyQueues(), id);
        logger.info({ instance: id, jobs }, `deleted the reply queue of a bot not seen for ${orphanSeconds} s`);
      } finally {
        await orphan.close();
      }
    }
  };

  const trim = async () => {
    let removed = 0;
    for (const q of [requests, replies]) {
      for (const type of ['completed', 'failed'] as const) removed += (await q.clean(ageMs, 0, type)).length;
    }
    // A request still waiting after this long was answered by its timeout; a late worker would drop it anyway.
    removed += (await requests.clean(Math.max(ageMs, config.queue.timeoutMs * 2), 0, 'wait')).length;
    if (removed) logger.debug({ removed }, `deleted jobs older than ${ageSeconds} s`);
  };

  const sweep = () => {
    running ??= (async () => {
      try {
        await alive();
        await removeOrphans();
        await trim();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'retention sweep failed; trying again later');
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const timer = setInterval(() => void sweep(), everyMs);
  timer.unref();
  const heartbeat = setInterval(() => void alive().catch(() => undefined), Math.max(500, (orphanSeconds * 1000) / 3));
  heartbeat.unref();

  return {
    sweep,
    /** Call after the reply worker has stopped. An ephemeral id's reply queue goes at once, with what is left in it. */
    async stop(waitMs) {
      stopped = true;
      clearInterval(timer);
      clearInterval(heartbeat);
      const finish = async () => {
        await running;
        if (!ephemeral) return;
        await replies.obliterate({ force: true });
        await redis.zrem(keys.replyQueues(), instanceId);
      };
      await withTimeout(finish(), waitMs).catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, "could not delete this bot's reply queue; the other bots will"),
      );
    },
  };
}
