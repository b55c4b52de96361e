import { cleanContent, type ChatInputCommandInteraction, type Message } from 'discord.js';
import type { Friend, IncomingMessage } from '../../src/events.ts';

/**
 * Discord's rules for "addressed to the bot": the content itself carries `<@id>` or `<@!id>` for the bot's user.
 * `mentions.users` alone would also count the replied-to author (reply pings), and `mentions.has()` would count
 * @everyone and role pings, so the raw markup is the test.
 */
export function botMentionMarkup(content: string, botId: string): string[] {
  return content.match(new RegExp(`<@!?${botId}>`, 'g')) ?? [];
}

/**
 * The other member a guild message names: the first `<@id>` of someone else (a member when Discord sent their member
 * data with the mention), else the author of the message it replies to (with its text, when this process saw it), and
 * the mention's text to strip.
 */
export function namedFriend(message: Message, botId: string): { friend: Friend; span?: string } | undefined {
  if (!message.inGuild()) return undefined;
  const id = [...message.content.matchAll(/<@!?(\d+)>/g)].map((m) => m[1]!).find((x) => x !== botId && x !== message.author.id);
  const replied = message.reference ? message.mentions.repliedUser : null;
  const user = id ? message.mentions.users.get(id) : replied && replied.id !== botId ? replied : undefined;
  if (!user) return undefined;
  const member = message.mentions.members?.get(user.id) ?? undefined;
  const friend: Friend = { userId: user.id, name: member?.displayName || user.displayName, isBot: user.bot, inChat: !id || member !== undefined };
  if (id) return { friend, span: cleanContent(`<@${id}>`, message.channel) };
  // The message replied to, as this process saw it arrive (discord.js keeps recent messages per channel).
  const quoted = message.reference?.messageId ? message.channel.messages.cache.get(message.reference.messageId) : undefined;
  return { friend: quoted?.cleanContent ? { ...friend, repliedText: quoted.cleanContent } : friend };
}

export function messageToIncoming(message: Message, botId: string): IncomingMessage {
  const raw = botMentionMarkup(message.content, botId);
  // Text goes to the core with all markup resolved (`<@id>` → `@name`); the bot's own mention is resolved the same way,
  // so it can be named in mentionTexts for the core to strip.
  const named = namedFriend(message, botId);
  const mentionTexts = [...new Set([...raw.map((m) => cleanContent(m, message.channel)), ...(named?.span ? [named.span] : [])])];
  return {
    platform: 'discord',
    chatId: message.channelId,
    messageId: message.id,
    userId: message.author.id,
    userName: message.member?.displayName || message.author.displayName || undefined,
    text: message.cleanContent,
    isPrivate: !message.inGuild(),
    mentionsBot: raw.length > 0 && message.mentions.users.has(botId),
    repliesToBot: message.reference !== null && message.mentions.repliedUser?.id === botId,
    fromBot: message.author.bot || message.author.id === botId || message.webhookId !== null,
    mentionTexts,
    ...(named && { friend: named.friend }),
    sentAt: message.createdTimestamp,
  };
}

export function interactionToIncoming(interaction: ChatInputCommandInteraction): IncomingMessage {
  return {
    platform: 'discord',
    chatId: interaction.channelId,
    messageId: interaction.id,
    userId: interaction.user.id,
    userName: interaction.user.displayName || undefined,
    text: interaction.options.getString('text') ?? '',
    isPrivate: !interaction.inGuild(),
    mentionsBot: false,
    repliesToBot: false,
    fromBot: interaction.user.bot,
    explicit: true,
    sentAt: interaction.createdTimestamp,
  };
}
