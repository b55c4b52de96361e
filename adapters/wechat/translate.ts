import type { Message } from 'wechaty';
import type { IncomingMessage } from '../../src/events.ts';

/**
 * Translates a WeChat text message. In groups the bot is addressed by an @-mention of itself (`mentionSelf()`, which
 * reads the puppet's mention id list); the prompt then uses `mentionText()`, the text without the @-mentions.
 */
export async function toIncoming(message: Message, officialType: number): Promise<IncomingMessage> {
  const talker = message.talker();
  const room = message.room();
  const mentionsBot = room ? await message.mentionSelf() : false;
  return {
    platform: 'wechat',
    chatId: room ? room.id : talker.id,
    messageId: message.id,
    userId: talker.id,
    userName: talker.name() || undefined,
    text: mentionsBot ? await message.mentionText() : message.text(),
    isPrivate: !room,
    mentionsBot,
    repliesToBot: false,
    fromBot: message.self() || talker.type() === officialType,
    sentAt: message.date().getTime(),
  };
}
