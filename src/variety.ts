import type { Redis } from 'ioredis';
import { textKey } from '../common/textKey.ts';
import type { RedisKeys } from './queue/contracts.ts';

/** Counts are kept a little past their day, so a request that straddles midnight still finds yesterday's. */
const KEEP_SECONDS = 2 * 86400;

const utcDay = (now: number) => new Date(now).toISOString().slice(0, 10);

/**
 * How often each reply text went out today over all chats, shared by every worker through Redis, so that no praise
 * becomes the bot's catchphrase: a text sent `maxPerDay` times rests until the next UTC day.
 */
export class SendCounts {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly maxPerDay: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The texts (by textKey) among `texts` that reached the day's maximum. */
  async overused(texts: readonly string[]): Promise<Set<string>> {
    const keys = [...new Set(texts.map(textKey))].filter(Boolean);
    if (this.maxPerDay <= 0 || keys.length === 0) return new Set();
    const counts = await this.redis.hmget(this.keys.sent(utcDay(this.now())), ...keys);
    return new Set(keys.filter((_, i) => Number(counts[i] ?? 0) >= this.maxPerDay));
  }

  async add(text: string): Promise<void> {
    const key = this.keys.sent(utcDay(this.now()));
    await this.redis.multi().hincrby(key, textKey(text), 1).expire(key, KEEP_SECONDS).exec();
  }
}
