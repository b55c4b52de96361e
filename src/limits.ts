import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { Platform } from './events.ts';
import type { RedisKeys } from './queue/contracts.ts';

const WINDOW_MS = 60_000;

/** The queue depth at which a platform's messages are no longer queued: its share of queue.maxDepth (all of it unlisted), at least 1. */
export function queueLimit(queue: Pick<Config['queue'], 'maxDepth' | 'shareByPlatform'>, platform: Platform): number {
  return Math.max(1, Math.floor(queue.maxDepth * (queue.shareByPlatform[platform] ?? 1)));
}

/** Limits: per-user cooldown, per-chat rate limit and the care reply's repeat window, kept in Redis so every bot process shares them. */
export class Limits {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Starts the user's cooldown; false when one is already running. */
  async takeCooldown(platform: Platform, userId: string, seconds: number): Promise<boolean> {
    if (seconds <= 0) return true;
    return (await this.redis.set(this.keys.cooldown(platform, userId), '1', 'EX', seconds, 'NX')) === 'OK';
  }

  /** Gives the cooldown back when the request it was taken for was not queued after all. */
  async releaseCooldown(platform: Platform, userId: string): Promise<void> {
    await this.redis.del(this.keys.cooldown(platform, userId));
  }

  /** Opens the user's care window in a chat; false when one is already open (the care reply went out a moment ago). */
  async takeCareWindow(platform: Platform, chatId: string, userId: string, seconds: number): Promise<boolean> {
    if (seconds <= 0) return true;
    return (await this.redis.set(this.keys.care(platform, chatId, userId), '1', 'EX', seconds, 'NX')) === 'OK';
  }

  /** Counts one request against the chat's per-minute budget; false when the budget is used up. */
  async takeChatRate(platform: Platform, chatId: string, perMinute: number, now = Date.now()): Promise<boolean> {
    if (perMinute <= 0) return true;
    const key = this.keys.chatRate(platform, chatId, Math.floor(now / WINDOW_MS));
    const [[, count]] = (await this.redis
      .multi()
      .incr(key)
      .pexpire(key, WINDOW_MS * 2)
      .exec()) as [[Error | null, number]];
    return count <= perMinute;
  }
}
