import { z } from 'zod';
import type { Friend, IncomingMessage } from '../../src/events.ts';

/** The robot message a `/v1.0/im/bot/messages/get` callback carries in its `data` (a JSON string). */
export const robotMessage = z.looseObject({
  msgId: z.string().min(1),
  msgtype: z.string(),
  conversationId: z.string().min(1),
  /** '1' a private chat with the robot, '2' a group. */
  conversationType: z.enum(['1', '2']),
  conversationTitle: z.string().optional(),
  senderId: z.string().min(1),
  /** The sender's UserID in the organisation; absent for people from outside it. */
  senderStaffId: z.string().min(1).optional(),
  senderNick: z.string().optional(),
  chatbotUserId: z.string().optional(),
  /** DingTalk's own verdict that the robot was @-mentioned. */
  isInAtList: z.boolean().optional(),
  sessionWebhook: z.string(),
  /** Milliseconds since epoch after which sessionWebhook no longer accepts replies. */
  sessionWebhookExpiredTime: z.number(),
  createAt: z.number().optional(),
  text: z.looseObject({ content: z.string() }).optional(),
  /** Everyone the message @-mentions, the robot included; people outside the organisation have no staffId. */
  atUsers: z.array(z.looseObject({ dingtalkId: z.string(), staffId: z.string().optional() })).optional(),
});
export type RobotMessage = z.infer<typeof robotMessage>;

/** Where and to whom the answer to one message goes. */
export interface ReplyTarget {
  webhook: URL;
  expiresAt: number;
  /** The sender's UserID, @-mentioned in the reply; people outside the organisation have none. */
  atUserId?: string;
  /** The asker as the core knows them (IncomingMessage.userId): a delivery to anyone else (a friend) @-mentions them. */
  asker: string;
}

export type WebhookRejection = 'untrusted-webhook' | 'expired-webhook';

/** Parses the callback's `data`; null when it is not JSON or not a robot message. */
export function parseRobotMessage(data: string): RobotMessage | null {
  try {
    const parsed = robotMessage.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * The reply target of a message, or why it has none. The webhook URL arrives inside the event, so it is posted to
 * only when its origin is one of `origins` (DingTalk's own hosts unless configured otherwise) and it has not expired.
 */
export function replyTarget(m: RobotMessage, origins: readonly string[], now = Date.now()): ReplyTarget | WebhookRejection {
  const webhook = URL.canParse(m.sessionWebhook) ? new URL(m.sessionWebhook) : undefined;
  if (!webhook || webhook.username || webhook.password || !origins.includes(webhook.origin)) return 'untrusted-webhook';
  if (isExpired(m.sessionWebhookExpiredTime, now)) return 'expired-webhook';
  return { webhook, expiresAt: m.sessionWebhookExpiredTime, asker: m.senderStaffId ?? m.senderId, ...(m.senderStaffId ? { atUserId: m.senderStaffId } : {}) };
}

export const isExpired = (expiresAt: number, now = Date.now()) => expiresAt <= now;

/**
 * The member a group message @-mentions besides the robot and the writer: DingTalk lists them in `atUsers` (ids only)
 * and leaves their "@name" in the text. Only one other mention, with a staffId to @ them by, names a friend for certain;
 * the @ picker offers members of the group only.
 */
function mentionedFriend(m: RobotMessage, text: string): Friend | undefined {
  if (m.conversationType !== '2') return undefined;
  const others = (m.atUsers ?? []).filter((u) => u.dingtalkId !== m.chatbotUserId && u.dingtalkId !== m.senderId && u.staffId !== m.senderStaffId);
  const names = [...text.matchAll(/@(\S{1,20})/gu)].map((x) => x[1]!);
  if (others.length !== 1 || names.length !== 1 || !others[0]!.staffId) return undefined;
  return { userId: others[0]!.staffId, name: names[0]!, isBot: false, inChat: true };
}

/**
 * Translates a robot message into the core's event model; null for anything but text. DingTalk delivers a group
 * message only when the robot is @-mentioned and already removes that @ from the text, so `isInAtList` is the whole
 * truth about a mention: "@kuakua" typed as text is not one.
 */
export function toIncoming(m: RobotMessage): IncomingMessage | null {
  if (m.msgtype !== 'text' || !m.text) return null;
  const isPrivate = m.conversationType === '1';
  const text = m.text.content.trim();
  const friend = mentionedFriend(m, text);
  return {
    platform: 'dingtalk',
    chatId: m.conversationId,
    messageId: m.msgId,
    userId: m.senderStaffId ?? m.senderId,
    ...(m.senderNick ? { userName: m.senderNick } : {}),
    text,
    isPrivate,
    mentionsBot: m.isInAtList === true,
    repliesToBot: false,
    fromBot: m.chatbotUserId !== undefined && m.senderId === m.chatbotUserId,
    ...(friend && { friend, mentionTexts: [`@${friend.name}`] }),
    ...(m.createAt !== undefined ? { sentAt: m.createAt } : {}),
  };
}

/** The JSON body posted to a sessionWebhook: text with the @ DingTalk needs in the text as well as in `at`. */
export function replyBody(text: string, atUserId?: string) {
  if (!atUserId) return { msgtype: 'text', text: { content: text } };
  return { msgtype: 'text', text: { content: `${mentionPrefix(atUserId)}${text}` }, at: { atUserIds: [atUserId] } };
}

export const mentionPrefix = (atUserId: string) => `@${atUserId} `;
