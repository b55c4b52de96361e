import type { IncomingMessage } from './events.ts';
import { MAX_POST_CHARS } from './queue/contracts.ts';

/** The trigger rules in force for one chat (config defaults merged with per-chat overrides). */
export interface TriggerSettings {
  enabled: boolean;
  keywords: string[];
  mentionRequired: boolean;
  privateChats: boolean;
  genericPost: string;
}

export type TriggerReason = 'explicit' | 'private' | 'mention' | 'reply' | 'keyword';

export type TriggerDecision =
  | { triggered: true; reason: TriggerReason; post: string }
  | { triggered: false; reason: 'disabled' | 'no-trigger' | 'mention-required' };

// Zero-width and direction marks, BOM, and C0/C1 controls other than whitespace.
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
// What is left around a stripped trigger word: "夸我，" / "求夸: " / "@bot ".
const EDGE_PUNCT = /^[\s,，.。!！?？:：;；、~～\-—…]+|[\s,，.。!！?？:：;；、~～\-—…]+$/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const COMMAND_PREFIX = /^\/kuakua(@\S+)?(\s+|$)/i;

/** Lone UTF-16 surrogates (possible through JSON \ud800 escapes) replaced by U+FFFD, so the text is well-formed. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** Plain, well-formed text: lone surrogates replaced, invisible and control characters removed. */
export function normalizeText(text: string): string {
  return wellFormed(text).replace(INVISIBLE, '').normalize('NFC');
}

export const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The message with the command prefix, mention strings and trigger words removed; a bare trigger gets the generic post. */
export function extractPost(text: string, keywords: string[], mentionTexts: string[], genericPost: string): string {
  let post = normalizeText(text).replace(COMMAND_PREFIX, '');
  const strip = [...mentionTexts, ...keywords].filter(Boolean).sort((a, b) => b.length - a.length);
  if (strip.length) post = post.replace(new RegExp(strip.map(escapeRegExp).join('|'), 'gi'), ' ');
  post = post.replace(/\s+/g, ' ').replace(EDGE_PUNCT, '');
  return post ? Array.from(post).slice(0, MAX_POST_CHARS).join('') : genericPost;
}

export function containsKeyword(text: string, keywords: string[]): boolean {
  const lower = normalizeText(text).toLowerCase();
  return keywords.some((k) => k && lower.includes(k.toLowerCase()));
}

/** Decides whether a message asks for praise, and what the model should praise. Bots never reach it (the core drops them first). */
export function evaluateTrigger(msg: IncomingMessage, s: TriggerSettings): TriggerDecision {
  if (!s.enabled) return { triggered: false, reason: 'disabled' };
  const post = () => extractPost(msg.text, s.keywords, msg.mentionTexts ?? [], s.genericPost);

  if (msg.explicit) return { triggered: true, reason: 'explicit', post: post() };
  if (msg.isPrivate && s.privateChats) return { triggered: true, reason: 'private', post: post() };
  if (msg.mentionsBot) return { triggered: true, reason: 'mention', post: post() };
  if (msg.repliesToBot) return { triggered: true, reason: 'reply', post: post() };
  if (!containsKeyword(msg.text, s.keywords)) return { triggered: false, reason: 'no-trigger' };
  if (s.mentionRequired && !msg.isPrivate) return { triggered: false, reason: 'mention-required' };
  return { triggered: true, reason: 'keyword', post: post() };
}
