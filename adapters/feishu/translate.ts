import { z } from 'zod';
import type { Friend, IncomingMessage } from '../../src/events.ts';

/** The bot as `GET /open-apis/bot/v3/info` describes it. */
export interface FeishuBot {
  openId: string;
  name: string;
}

const userId = z.object({ open_id: z.string().optional(), user_id: z.string().optional(), union_id: z.string().optional() });

/** `im.message.receive_v1` as the SDK's EventDispatcher hands it over: the v2 header fields spread next to `sender` and `message`. */
export const messageEvent = z.object({
  event_id: z.string().optional(),
  sender: z.object({ sender_id: userId.optional(), sender_type: z.string() }),
  message: z.object({
    message_id: z.string().min(1),
    parent_id: z.string().optional(),
    chat_id: z.string().min(1),
    chat_type: z.string(),
    message_type: z.string(),
    content: z.string(),
    create_time: z.string().optional(),
    mentions: z.array(z.object({ key: z.string().min(1), id: userId.optional(), name: z.string().optional() })).optional(),
  }),
});

export type FeishuMessageEvent = z.infer<typeof messageEvent>;
type Mention = NonNullable<FeishuMessageEvent['message']['mentions']>[number];

const textContent = z.object({ text: z.string() });
const postElement = z.object({ tag: z.string(), text: z.string().optional(), user_id: z.string().optional() });
const postBody = z.object({ title: z.string().optional(), content: z.array(z.array(postElement)) });
/** Rich text ("post") arrives either as the body itself or wrapped in a locale key (zh_cn, en_us, …). */
const postContent = z.union([postBody, z.record(z.string(), postBody).transform((locales) => Object.values(locales)[0])]);

/**
 * The plain text of a text or rich-text message, with mentions still as their keys ("@_user_1"); null for other
 * kinds (images, stickers, cards …). Throws when the content is not the JSON its kind promises.
 */
export function messageText(messageType: string, content: string): string | null {
  if (messageType === 'text') return textContent.parse(JSON.parse(content)).text;
  if (messageType !== 'post') return null;
  const post = postContent.parse(JSON.parse(content));
  if (!post) return null;
  const lines = post.content.map((line) =>
    line.map((e) => (e.tag === 'at' ? (e.user_id ?? '') : e.tag === 'text' || e.tag === 'a' ? (e.text ?? '') : '')).join(''),
  );
  return [post.title, ...lines].filter((l) => l).join('\n');
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Feishu's rule for "addressed to the bot": an entry of `mentions` carrying the bot's open_id whose key ("@_user_1")
 * is in the text. Text that merely reads "@kuakua" has no entry and is no mention. The bot's keys are removed from the
 * text, other people's are resolved to "@name".
 */
export function resolveMentions(text: string, mentions: Mention[], me: FeishuBot): { text: string; mentionsBot: boolean } {
  const present = mentions.filter((m) => text.includes(m.key));
  if (present.length === 0) return { text, mentionsBot: false };
  const byKey = new Map(present.map((m) => [m.key, m]));
  // "@_user_1" must not match the start of "@_user_12".
  const keys = new RegExp(`(${[...byKey.keys()].map(escapeRegExp).join('|')})(?!\\d) ?`, 'g');
  let mentionsBot = false;
  const resolved = text.replace(keys, (match, key: string) => {
    const m = byKey.get(key)!;
    if (m.id?.open_id === me.openId) {
      mentionsBot = true;
      return '';
    }
    return `@${m.name ?? ''}${match.slice(key.length)}`;
  });
  return { text: resolved.trim(), mentionsBot };
}

/** The first person a group message @-mentions besides the bot and its writer, and the "@name" the text shows; membership is the adapter's to check. */
export function mentionedPerson(ev: FeishuMessageEvent, me: FeishuBot): { openId: string; name: string } | undefined {
  if (ev.message.chat_type === 'p2p') return undefined;
  const writer = ev.sender.sender_id?.open_id;
  const m = (ev.message.mentions ?? []).find((x) => x.id?.open_id && x.id.open_id !== me.openId && x.id.open_id !== writer);
  return m?.id?.open_id ? { openId: m.id.open_id, name: m.name ?? m.id.open_id } : undefined;
}

/** A mentioned person as a friend to praise; `inChat` as the chat's member list says. */
export function friendOf(person: { openId: string; name: string }, inChat: boolean): Friend {
  // Feishu's member list holds people only, so a bot is never in it: refused as not in the chat.
  return { userId: person.openId, name: person.name, isBot: false, inChat };
}

/**
 * Translates a received message into the core's event model; null for messages without text. `sentByBot` tells
 * whether a message id is one of the bot's own replies (for replies to the bot).
 */
export function toIncoming(ev: FeishuMessageEvent, me: FeishuBot, sentByBot: (messageId: string) => boolean, friend?: Friend): IncomingMessage | null {
  const { message, sender } = ev;
  const raw = messageText(message.message_type, message.content);
  if (raw === null) return null;
  const { text, mentionsBot } = resolveMentions(raw, message.mentions ?? [], me);
  const senderId = sender.sender_id?.open_id ?? sender.sender_id?.user_id ?? '';
  const sentAt = Number(message.create_time);
  return {
    platform: 'feishu',
    chatId: message.chat_id,
    messageId: message.message_id,
    userId: senderId,
    text,
    isPrivate: message.chat_type === 'p2p',
    mentionsBot,
    repliesToBot: Boolean(message.parent_id && sentByBot(message.parent_id)),
    fromBot: sender.sender_type !== 'user' || senderId === me.openId,
    ...(friend && { friend, mentionTexts: [`@${friend.name}`] }),
    ...(Number.isFinite(sentAt) && sentAt > 0 ? { sentAt } : {}),
  };
}
