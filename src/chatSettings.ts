import type { Redis } from 'ioredis';
import { MAX_CHORUS } from '../common/limits.ts';
import type { Config } from './config.ts';
import type { Platform } from './events.ts';
import type { RedisKeys } from './queue/contracts.ts';
import type { TriggerSettings } from './triggers.ts';

/** What admins set in a chat with /kuakua_on, /kuakua_off, /kuakua_keywords and /kuakua_chorus; stored in Redis, shared by all processes. */
export interface StoredChatSettings {
  enabled?: boolean;
  extraKeywords?: string[];
  /** Replies per ask (src/chorus.ts). */
  chorus?: number;
}

export class ChatSettingsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async get(platform: Platform, chatId: string): Promise<StoredChatSettings> {
    const h = await this.redis.hgetall(this.keys.chatSettings(platform, chatId));
    const out: StoredChatSettings = {};
    if (h.enabled !== undefined) out.enabled = h.enabled === '1';
    const chorus = Number(h.chorus);
    if (Number.isInteger(chorus) && chorus >= 1 && chorus <= MAX_CHORUS) out.chorus = chorus;
    if (h.extraKeywords !== undefined) {
      try {
        const parsed: unknown = JSON.parse(h.extraKeywords);
        if (Array.isArray(parsed)) out.extraKeywords = parsed.filter((k): k is string => typeof k === 'string');
      } catch {
        // a hand-edited value that is not JSON: ignore it
      }
    }
    return out;
  }

  async setEnabled(platform: Platform, chatId: string, enabled: boolean): Promise<void> {
    await this.redis.hset(this.keys.chatSettings(platform, chatId), 'enabled', enabled ? '1' : '0');
  }

  async setChorus(platform: Platform, chatId: string, chorus: number): Promise<void> {
    await this.redis.hset(this.keys.chatSettings(platform, chatId), 'chorus', String(chorus));
  }

  async setExtraKeywords(platform: Platform, chatId: string, keywords: string[]): Promise<void> {
    await this.redis.hset(this.keys.chatSettings(platform, chatId), 'extraKeywords', JSON.stringify(keywords));
  }
}

/** Config defaults, then the config file's per-chat override, then what admins stored in Redis. */
export function resolveTriggerSettings(config: Config, platform: Platform, chatId: string, stored: StoredChatSettings): TriggerSettings {
  const override = config.chats[`${platform}:${chatId}`] ?? {};
  const extra = stored.extraKeywords ?? override.extraKeywords ?? [];
  return {
    enabled: stored.enabled ?? override.enabled ?? true,
    keywords: [...new Set([...config.triggers.keywords, ...extra])],
    mentionRequired: override.mentionRequired ?? config.triggers.mentionRequiredInGroups,
    privateChats: config.triggers.privateChats,
    genericPost: config.triggers.genericPost,
  };
}
