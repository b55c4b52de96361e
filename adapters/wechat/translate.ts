import type { Message } from 'wechaty';
import type { Friend, IncomingMessage } from '../../src/events.ts';

/**
 * The other member a room message @-mentions (the first who is neither the bot nor the writer), by the name the room
 * shows (their alias in it, else their own), with the room's word on whether they are in it.
 */
async function mentionedFriend(message: Message, officialType: number): Promise<Friend | undefined> {
  const room = message.room();
  if (!room) return undefined;
  const talker = message.talker();
  const contact = (await message.mentionList()).find((c) => !c.self() && c.id !== talker.id);
  if (!contact) return undefined;
  const name = (await room.alias(contact)) || contact.name() || contact.id;
  return { userId: contact.id, name, isBot: contact.type() === officialType, inChat: await room.has(contact) };
}

/**
 * Translates a WeChat text message. In groups the bot is addressed by an @-mention of itself (`mentionSelf()`, which
 * reads the puppet's mention id list); the prompt then uses `mentionText()`, the text without the @-mentions.
 */
export async function toIncoming(message: Message, officialType: number): Promise<IncomingMessage> {
  const talker = message.talker();
  const room = message.room();
  const mentionsBot = room ? await message.mentionSelf() : false;
  const friend = await mentionedFriend(message, officialType);
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
    ...(friend && { friend, mentionTexts: [`@${friend.name}`] }),
  };
}
