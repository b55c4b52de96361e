import type { Friend, IncomingMessage } from './events.ts';
import { containsKeyword, extractPost } from './triggers.ts';

/** An ask to praise another member, and the post to praise, as if they had written it. */
export interface FriendAsk {
  friend: Friend;
  post: string;
}

// He, she, TA as a person (其他 and 他人 are not one): the friend, once the post is theirs.
const THIRD_PERSON = /(?<!其)(他|她|TA|Ta|ta)(?!人)/g;

/** "他今天答辩过了" about 小明 → "我今天答辩过了": the models praise a post in its writer's words. */
export function asTheirOwn(post: string, name: string): string {
  return post.split(name).join('我').replace(THIRD_PERSON, '我');
}

/**
 * The ask, when the message names another member (`msg.friend`, resolved by the adapter) with one of
 * `friendKeywords` (夸夸他, 夸一下, …) and asks nothing for its writer (no `keywords`). What it says about them is the
 * post; when it says nothing more, the message it replied to, else the generic post.
 */
export function friendAsk(msg: IncomingMessage, t: { keywords: string[]; friendKeywords: string[]; genericPost: string }): FriendAsk | undefined {
  const friend = msg.friend;
  if (!friend || friend.userId === msg.userId) return undefined;
  if (!containsKeyword(msg.text, t.friendKeywords) || containsKeyword(msg.text, t.keywords)) return undefined;
  const said = extractPost(msg.text, t.friendKeywords, [...(msg.mentionTexts ?? []), `@${friend.name}`], '');
  const post = said || (friend.repliedText ? extractPost(friend.repliedText, [], [], t.genericPost) : t.genericPost);
  return { friend, post: asTheirOwn(post, friend.name) };
}
