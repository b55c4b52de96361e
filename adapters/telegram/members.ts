import type { User } from 'telegraf/types';

/** Users remembered per chat by username, most recent last; the Bot API cannot look a username up. */
const MAX_REMEMBERED = 10_000;

/**
 * The users who wrote in each chat while this process ran, by lower-case username, so that an "@username" mention can
 * be resolved to a user id (and then checked with getChatMember). Bounded: the oldest are forgotten first.
 */
export function seenMembers(max = MAX_REMEMBERED) {
  const users = new Map<string, User>();
  const key = (chatId: number, username: string) => `${chatId} ${username.toLowerCase()}`;
  return {
    saw(chatId: number, user: User): void {
      if (!user.username) return;
      const k = key(chatId, user.username);
      users.delete(k);
      users.set(k, user);
      if (users.size > max) users.delete(users.keys().next().value!);
    },
    find: (chatId: number, username: string): User | undefined => users.get(key(chatId, username)),
  };
}
