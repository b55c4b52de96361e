import { z } from 'zod';
import type { Friend } from '../../src/events.ts';
import { parseCq } from './cq.ts';
import type { NamedMember } from './translate.ts';

type Act = (action: string, params: Record<string, unknown>) => Promise<unknown>;

const memberInfo = z.object({ user_id: z.coerce.string(), nickname: z.string().optional(), card: z.string().optional(), is_robot: z.boolean().optional() });
const storedMessage = z.object({
  sender: z.object({ user_id: z.coerce.string() }),
  message: z.union([z.string(), z.array(z.object({ type: z.string(), data: z.record(z.string(), z.unknown()) }))]),
});

/** The text of a message as get_msg returns it (CQ string or segments). */
function plainText(message: z.infer<typeof storedMessage>['message']): string {
  const segments = typeof message === 'string' ? parseCq(message) : message;
  return segments
    .map((s: { type: string; data: Record<string, unknown> }) => (s.type === 'text' && typeof s.data.text === 'string' ? s.data.text : ''))
    .join('');
}

/**
 * The member a group message names, as a friend: the quoted message's author and text come from get_msg, and
 * membership, name and whether it is a bot account from get_group_member_info (which fails for a non-member).
 */
export async function resolveFriend(named: NamedMember, groupId: number, selfId: string, act: Act): Promise<{ friend: Friend; span?: string } | undefined> {
  let userId: string;
  let repliedText: string | undefined;
  if ('replyTo' in named) {
    const stored = storedMessage.safeParse(await act('get_msg', { message_id: Number(named.replyTo) }).catch(() => undefined));
    if (!stored.success) return undefined;
    userId = stored.data.sender.user_id;
    repliedText = plainText(stored.data.message) || undefined;
  } else userId = named.qq;
  const span = 'span' in named ? named.span : undefined;
  const info = memberInfo.safeParse(await act('get_group_member_info', { group_id: groupId, user_id: Number(userId) }).catch(() => undefined));
  const fallbackName = span?.slice(1) ?? userId;
  const friend: Friend = info.success
    ? { userId, name: info.data.card || info.data.nickname || fallbackName, isBot: info.data.is_robot === true || userId === selfId, inChat: true }
    : { userId, name: fallbackName, isBot: userId === selfId, inChat: false };
  return { friend: repliedText ? { ...friend, repliedText } : friend, ...(span && { span }) };
}
