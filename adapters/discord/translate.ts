import { cleanContent, type ChatInputCommandInteraction, type Message } from 'discord.js';
import type { IncomingMessage } from '../../src/events.ts';

/**
 * Discord's rules for "addressed to the bot": the content itself carries `<@id>` or `<@!id>` for the bot's user.
 * `mentions.users` alone would also count the replied-to author (reply pings), and `mentions.has()` would count
 * @everyone and role pings, so the raw markup is the test.
 */
export function botMentionMarkup(content: string, botId: string): string[] {
  return content.match(new RegExp(`<@!?${botId}>`, 'g')) ?? [];
}

export function messageToIncoming(message: Message, botId: string): IncomingMessage {
  const raw = botMentionMarkup(message.content, botId);
  // Text goes to the core with all markup resolved (`<@id>` → `@name`); the bot's own mention is resolved the same way,
  // so it can be named in mentionTexts for the core to strip.
  const mentionTexts = [...new Set(raw.map((m) => cleanContent(m, message.channel)))];
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
