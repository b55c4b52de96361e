import type { Redis } from 'ioredis';
import type { Platform } from './events.ts';
import type { RedisKeys } from './queue/contracts.ts';

const WINDOW_MS = 60_000;

/** Per-user cooldown and per-chat rate limit, kept in Redis so every bot process shares them. */
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

  /** Counts one request against the chat's per-minute budget; false when the budget is used up. */
  async takeChatRate(platform: Platform, chatId: string, perMinute: number, now = Date.now()): Promise<boolean> {
    if (perMinute <= 0) return true;
    const key = this.keys.chatRate(platform, chatId, Math.floor(now / WINDOW_MS));
    const [[, count]] = (await this.redis.multi().incr(key).pexpire(key, WINDOW_MS * 2).exec()) as [[Error | null, number]];
    return count <= perMinute;
  }
}
