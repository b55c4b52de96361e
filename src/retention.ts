import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { replyQueueName, type RedisKeys } from './queue/contracts.ts';

const STOP_WAIT_MS = 5000;

export interface Janitor {
  /** One sweep now (also run at start and on a timer). */
  sweep(): Promise<void>;
  stop(): Promise<void>;
}

/** Reply queues in Redis, by instance id: `<prefix>:<queue>-reply-<id>:<what>` (instance ids have no ':'). */
export async function replyQueueInstances(redis: Redis, prefix: string, queueName: string): Promise<Set<string>> {
  const head = `${prefix}:${replyQueueName(queueName, '')}`;
  const ids = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 500);
    for (const key of keys) {
      const id = key.slice(head.length).split(':')[0];
      if (id) ids.add(id);
    }
    cursor = next;
  } while (cursor !== '0');
  return ids;
}

/**
 * Keeps users' texts in Redis no longer than their purpose. Each bot process:
 * - refreshes `<prefix>:bot:<instanceId>` (expiring after queue.retention.orphanSeconds) while it runs;
 * - deletes the reply queues of bots whose key has expired, with the replies and posts in them;
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

  const alive = () => redis.set(keys.bot(instanceId), String(Date.now()), 'EX', orphanSeconds);

  const removeOrphans = async () => {
    for (const id of await replyQueueInstances(redis, prefix, config.queue.name)) {
      if (id === instanceId || stopped || (await redis.exists(keys.bot(id)))) continue;
      const orphan = new Queue(replyQueueName(config.queue.name, id), { connection: redis, prefix });
      orphan.on('error', () => {});
      try {
        const jobs = await orphan.getJobCountByTypes('wait', 'delayed', 'completed', 'failed', 'prioritized');
        await orphan.obliterate({ force: true });
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
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearInterval(heartbeat);
      const finish = async () => {
        await running;
        if (!ephemeral) return;
        await replies.obliterate({ force: true });
        await redis.del(keys.bot(instanceId));
      };
      // Redis may be down at shutdown: then the other bots delete the queue once this bot's key has expired.
      let timer2: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer2 = setTimeout(() => resolve('late'), STOP_WAIT_MS)));
      const outcome = await Promise.race([finish().catch((err: unknown) => err as Error), late]).finally(() => clearTimeout(timer2));
      if (outcome) logger.warn({ err: outcome === 'late' ? 'Redis did not answer' : outcome.message }, "could not delete this bot's reply queue; the other bots will");
    },
  };
}
