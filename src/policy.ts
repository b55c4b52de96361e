import type { Redis } from 'ioredis';
import type { Platform } from './events.ts';
import type { RedisKeys } from './queue/contracts.ts';
import { textKey } from './textKey.ts';
import { escapeRegExp, normalizeText } from './triggers.ts';

export interface PolicyRules {
  blocklist: string[];
  minChars: number;
  maxChars: number;
}

export type Rejection = 'too-short' | 'blocked' | 'repeat';

const SENTENCE_END = /[。！!？?～~…]/;
const LATIN_WORD = /^[a-z0-9' ]+$/i;

// A run of one punctuation mark or emoji longer than three ("！！！！！！…"), which small models love.
const LONG_RUN = /([\p{P}\p{S}])\1{3,}/gu;

/**
 * Whitespace collapsed, invisible characters removed, runs of one mark cut to three, then cut at a sentence end to
 * at most maxChars characters.
 */
export function cleanReply(text: string, maxChars: number): string {
  const chars = Array.from(normalizeText(text).replace(/\s+/g, ' ').replace(LONG_RUN, '$1$1$1').trim());
  if (chars.length <= maxChars) return chars.join('');
  const cut = chars.slice(0, maxChars);
  for (let i = cut.length - 1; i >= maxChars / 2; i--) if (SENTENCE_END.test(cut[i]!)) return cut.slice(0, i + 1).join('');
  return cut.join('');
}

/** The blocklist entry the text contains, if any. Latin words match whole words; Chinese entries match even when split by spaces or symbols. */
export function blockedWord(text: string, blocklist: string[]): string | undefined {
  const lower = text.toLowerCase();
  const squeezed = textKey(text);
  return blocklist.find((word) =>
    LATIN_WORD.test(word) ? new RegExp(`(^|[^a-z0-9])${escapeRegExp(word.toLowerCase())}($|[^a-z0-9])`, 'i').test(lower) : squeezed.includes(textKey(word)),
  );
}

/** The first candidate that is long enough, clean and not one of the chat's recent replies. */
export function choosePraise(candidates: string[], avoid: string[], rules: PolicyRules): { reply?: string; rejected: { text: string; reason: Rejection }[] } {
  const recent = new Set(avoid.map(textKey));
  const rejected: { text: string; reason: Rejection }[] = [];
  for (const raw of candidates) {
    const text = cleanReply(raw, rules.maxChars);
    let reason: Rejection | undefined;
    if (Array.from(textKey(text)).length < Math.max(1, rules.minChars)) reason = 'too-short';
    else if (blockedWord(text, rules.blocklist)) reason = 'blocked';
    else if (recent.has(textKey(text))) reason = 'repeat';
    if (!reason) return { reply: text, rejected };
    rejected.push({ text, reason });
  }
  return { rejected };
}

/** The chat's last N replies, newest first, shared by all workers and bots through Redis. */
export class PraiseHistory {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly size: number,
  ) {}

  async recent(platform: Platform, chatId: string): Promise<string[]> {
    if (this.size <= 0) return [];
    return this.redis.lrange(this.keys.history(platform, chatId), 0, this.size - 1);
  }

  async add(platform: Platform, chatId: string, reply: string): Promise<void> {
    if (this.size <= 0) return;
    const key = this.keys.history(platform, chatId);
    await this.redis.multi().lpush(key, reply).ltrim(key, 0, this.size - 1).expire(key, 30 * 86400).exec();
  }
}
