import type { Message, MessageEntity, User, UserFromGetMe } from 'telegraf/types';
import type { Friend, IncomingMessage } from '../../src/events.ts';

export type TelegramCommand = { name: string; args: string };

/** Text and entities of a text message or a captioned media message. */
function textOf(message: Message): { text: string; entities: MessageEntity[] } | null {
  if ('text' in message && typeof message.text === 'string') return { text: message.text, entities: message.entities ?? [] };
  if ('caption' in message && typeof message.caption === 'string') return { text: message.caption, entities: message.caption_entities ?? [] };
  return null;
}

/**
 * A leading bot command, e.g. "/kuakua@kuakua_bot 今天跑完了全马" → { name: 'kuakua', args: '今天跑完了全马' }.
 * Returns 'other-bot' when the command is addressed to a different bot (groups can have several).
 */
export function parseCommand(message: Message, me: UserFromGetMe): TelegramCommand | 'other-bot' | null {
  const t = textOf(message);
  const first = t?.entities.find((e) => e.type === 'bot_command' && e.offset === 0);
  if (!t || !first) return null;
  const [name = '', target] = t.text.slice(1, first.length).split('@');
  if (target !== undefined && target.toLowerCase() !== me.username.toLowerCase()) return 'other-bot';
  return { name: name.toLowerCase(), args: t.text.slice(first.length).trim() };
}

/**
 * Telegram rules for "addressed to the bot": a `mention` entity naming our username or a `text_mention` of our user id.
 * Entity offsets and lengths are UTF-16 code units, which is exactly how JavaScript strings index.
 */
function mentionsOf(text: string, entities: MessageEntity[], me: UserFromGetMe): string[] {
  const own = `@${me.username}`.toLowerCase();
  const found: string[] = [];
  for (const e of entities) {
    const span = text.slice(e.offset, e.offset + e.length);
    if (e.type === 'mention' && span.toLowerCase() === own) found.push(span);
    else if (e.type === 'text_mention' && e.user.id === me.id) found.push(span);
  }
  return found;
}

/** The other member a message names, as far as the message tells: checked against the chat by the adapter. */
export type NamedMember = { user: User; span?: string; repliedText?: string } | { username: string; span: string };

/**
 * Whom a message names besides the bot: the first text_mention or @username of someone else, else the author of the
 * message it replies to (a member: the message is in this chat).
 */
export function namedMember(message: Message, me: UserFromGetMe): NamedMember | undefined {
  const t = textOf(message);
  if (!t) return undefined;
  const own = me.username.toLowerCase();
  for (const e of t.entities) {
    const span = t.text.slice(e.offset, e.offset + e.length);
    if (e.type === 'text_mention' && e.user.id !== me.id) return { user: e.user, span };
    if (e.type === 'mention' && span.slice(1).toLowerCase() !== own) return { username: span.slice(1), span };
  }
  const replyTo = 'reply_to_message' in message ? message.reply_to_message : undefined;
  if (replyTo?.from && replyTo.from.id !== me.id) {
    const replied = textOf(replyTo);
    return { user: replyTo.from, ...(replied && { repliedText: replied.text }) };
  }
  return undefined;
}

/** A Telegram user as a friend to praise; `inChat` as the adapter found it. */
export function friendOf(user: User, inChat: boolean, repliedText?: string): Friend {
  return {
    userId: String(user.id),
    name: user.first_name || user.username || String(user.id),
    isBot: user.is_bot,
    inChat,
    ...(repliedText && { repliedText }),
  };
}

/** Translates a Telegram message into the core's event model; null for messages without text. */
export function toIncoming(message: Message, me: UserFromGetMe, command: TelegramCommand | null, friend?: Friend, friendSpan?: string): IncomingMessage | null {
  const t = textOf(message);
  if (!t || !message.from) return null;
  const mentionTexts = mentionsOf(t.text, t.entities, me);
  const replyTo = 'reply_to_message' in message ? message.reply_to_message : undefined;
  const explicit = command?.name === 'kuakua';
  // Commands reach the core without the "@botname" suffix, so "/kuakua_on@kuakua_bot" reads as "/kuakua_on";
  // Telegram's conventional /start asks the core for its help text.
  const name = command?.name === 'start' ? 'kuakua_help' : command?.name;
  const text = explicit ? command.args : command ? `/${name}${command.args ? ` ${command.args}` : ''}` : t.text;
  return {
    platform: 'telegram',
    chatId: String(message.chat.id),
    messageId: String(message.message_id),
    userId: String(message.from.id),
    userName: message.from.username ?? message.from.first_name,
    text,
    isPrivate: message.chat.type === 'private',
    mentionsBot: mentionTexts.length > 0,
    repliesToBot: replyTo?.from?.id === me.id,
    fromBot: message.from.is_bot || message.from.id === me.id,
    explicit,
    mentionTexts: friendSpan ? [...mentionTexts, friendSpan] : mentionTexts,
    ...(friend && { friend }),
    sentAt: message.date * 1000,
  };
}
