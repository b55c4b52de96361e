/**
 * The one event model every adapter translates into (koishi/satori style):
 * adapters turn platform messages into IncomingMessage, hand them to the Core,
 * and send each Delivery the core gives back. The core never imports a platform SDK.
 */
/** Every platform kuakua speaks: the one list that config keys, admin lists and queue payloads derive from. */
export const PLATFORMS = ['web', 'telegram', 'discord', 'wechat', 'qq', 'feishu', 'dingtalk'] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface IncomingMessage {
  platform: Platform;
  chatId: string;
  /** Platform message id; with platform and chatId it is the idempotency key. */
  messageId: string;
  userId: string;
  userName?: string;
  /**
   * Set by an adapter whose admins are known by a credential, not by an id (the web: the operator token): it alone
   * decides, and admins.<platform> is not consulted. Unset: admins.<platform> decides.
   */
  adminByCredential?: boolean;
  /** Text with platform markup already resolved to plain text (mentions may remain; the core strips them). */
  text: string;
  isPrivate: boolean;
  /** The adapter decided, by its platform's rules, that the bot itself was mentioned. */
  mentionsBot: boolean;
  /** The message is a reply to one of the bot's messages. */
  repliesToBot: boolean;
  /** Sent by this bot or another bot: the core ignores it. */
  fromBot: boolean;
  /** An explicit praise command (/kuakua <text>, Discord slash command): always triggers. */
  explicit?: boolean;
  /** Mention strings to strip from the prompt (e.g. "@kuakua_bot", "<@123>"). */
  mentionTexts?: string[];
  /** Milliseconds since epoch when the platform says it was sent. */
  sentAt?: number;
  /**
   * The other member an ask names, as the adapter resolved its platform's mention (or the author of the message it
   * replies to): a "praise a friend" request (夸夸他…) praises them, never a bot, never someone who opted out.
   */
  friend?: Friend;
  /** Replies asked for (the web API's `chorus`); never more than the chat's chorus. */
  chorus?: number;
  /**
   * When no worker is online: 'wait' (the default) queues the request, and a worker that comes within queue.timeoutMs
   * still answers it; 'answer' applies queue.onTimeout at once (an open HTTP request should not hang for 30 s).
   */
  noWorker?: 'wait' | 'answer';
}

export interface Friend {
  userId: string;
  /** The name the group sees: the reply addresses them by it. */
  name: string;
  isBot: boolean;
  /** The adapter found them a member of this chat. */
  inChat: boolean;
  /** The text of the message the ask replies to, when it is theirs: praised when the ask itself says nothing more. */
  repliedText?: string;
}

/** Who speaks a reply: a member of the group's chorus, or the bot itself (chorus.voices, chorus.host). */
export interface Voice {
  name: string;
  /** An emoji or one character. */
  avatar: string;
}

export interface ChorusReply {
  text: string;
  voice: Voice;
}

/** `care`: the fixed distress.reply to a message that spoke of self-harm or suicide, never praise. */
export type DeliveryKind = 'praise' | 'fallback' | 'busy' | 'admin' | 'refusal' | 'help' | 'care';

export interface Delivery {
  platform: Platform;
  chatId: string;
  /** The message being answered: adapters quote it or @-mention its author. */
  replyToMessageId: string;
  userId: string;
  userName?: string;
  text: string;
  kind: DeliveryKind;
  /** The model that wrote the text: set on a worker's reply, absent on answers the core gives itself. */
  model?: string;
  /** Who speaks it. */
  voice: Voice;
  /**
   * The whole chorus, in order, when the adapter takes it at once (`DeliveryOptions.chorusTogether`, the web API):
   * `text` is the first of them. Other adapters get each reply of a chorus as a delivery of its own.
   */
  chorus?: ChorusReply[];
}

export interface DeliveryOptions {
  /** Take a chorus as one delivery carrying all its replies (`Delivery.chorus`), instead of one message each. */
  chorusTogether?: boolean;
}
