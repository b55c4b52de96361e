import { z } from 'zod';
import type { IncomingMessage } from '../../src/events.ts';
import { parseCq, textSegment, type Segment } from './cq.ts';

/** QQ numbers and message ids: numbers on the wire (message ids may be negative int32), strings from some implementations. */
const qqId = z.union([z.number().int(), z.string().regex(/^-?\d+$/)]).transform(String);

/** Segment data values are strings in the spec; implementations also send numbers (`"qq": 10001`). */
const segmentSchema = z.object({ type: z.string().min(1), data: z.record(z.string(), z.unknown()).nullish() }).transform(
  (s): Segment => ({
    type: s.type,
    data: Object.fromEntries(
      Object.entries(s.data ?? {})
        .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
        .map(([k, v]) => [k, String(v)]),
    ),
  }),
);

const messageEventSchema = z
  .object({
    post_type: z.literal('message'),
    message_type: z.enum(['group', 'private']),
    sub_type: z.string().optional(),
    /** Seconds since epoch. */
    time: z.number(),
    self_id: qqId,
    message_id: qqId,
    user_id: qqId,
    group_id: qqId.optional(),
    message: z.union([z.string(), z.array(segmentSchema)]),
    anonymous: z.unknown().optional(),
    sender: z.object({ nickname: z.string().optional(), card: z.string().optional() }).optional(),
  })
  .refine((e) => e.message_type === 'private' || e.group_id !== undefined, { message: 'a group message without group_id' });

export type MessageEvent = z.infer<typeof messageEventSchema>;

const responseSchema = z.object({
  status: z.enum(['ok', 'failed', 'async']),
  retcode: z.number().int(),
  data: z.unknown().optional(),
  echo: z.string(),
  /** The reason of a failure: `message` and `wording` (NapCat), `msg` and `wording` (go-cqhttp). */
  message: z.string().optional(),
  msg: z.string().optional(),
  wording: z.string().optional(),
});

export type ActionResponse = z.infer<typeof responseSchema>;

const metaEventSchema = z.object({
  post_type: z.literal('meta_event'),
  meta_event_type: z.string(),
  sub_type: z.string().optional(),
  self_id: qqId.optional(),
});

/** Events kuakua receives but never answers: notices (joins, recalls …), friend/group requests, the bot's own sent messages. */
const QUIET_POST_TYPES = new Set(['notice', 'request', 'message_sent']);

export type Frame =
  | { kind: 'response'; response: ActionResponse }
  | { kind: 'message'; event: MessageEvent }
  | { kind: 'meta'; metaType: string; subType?: string; selfId?: string }
  | { kind: 'quiet'; postType: string }
  | { kind: 'unknown'; postType: string }
  | { kind: 'malformed'; problem: string };

const problemOf = (error: z.ZodError) => {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(frame)'}: ${issue.message}` : 'invalid';
};

/**
 * The largest WebSocket frame read from the implementation; a larger one closes the connection (1009). Events and the
 * responses to kuakua's sends are a few KB (a reply is at most QQ_MAX_MESSAGE characters); ws alone allows 100 MiB.
 */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Reads one WebSocket text frame from the implementation. Problems name the field, never the message text. */
export function readFrame(raw: string): Frame {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { kind: 'malformed', problem: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'malformed', problem: 'not a JSON object' };
  const postType = (value as { post_type?: unknown }).post_type;
  if (postType === undefined) {
    const r = responseSchema.safeParse(value);
    return r.success ? { kind: 'response', response: r.data } : { kind: 'malformed', problem: `neither event nor action response (${problemOf(r.error)})` };
  }
  if (typeof postType !== 'string') return { kind: 'malformed', problem: 'post_type is not a string' };
  if (postType === 'message') {
    const r = messageEventSchema.safeParse(value);
    return r.success ? { kind: 'message', event: r.data } : { kind: 'malformed', problem: `message event ${problemOf(r.error)}` };
  }
  if (postType === 'meta_event') {
    const r = metaEventSchema.safeParse(value);
    if (!r.success) return { kind: 'malformed', problem: `meta event ${problemOf(r.error)}` };
    return { kind: 'meta', metaType: r.data.meta_event_type, subType: r.data.sub_type, selfId: r.data.self_id };
  }
  return QUIET_POST_TYPES.has(postType) ? { kind: 'quiet', postType } : { kind: 'unknown', postType: postType.slice(0, 40) };
}

export type DropReason = 'anonymous' | 'old';

export interface ReadContext {
  /** Seconds since epoch when the adapter started: older messages (replayed after a reconnect) are not answered. */
  startedAtSec: number;
  /** Whether a message id is one of the bot's own sent messages. */
  sentByBot(messageId: string): boolean;
}

export const chatIdOf = (e: MessageEvent) => (e.message_type === 'group' ? `group:${e.group_id}` : `private:${e.user_id}`);

/**
 * QQ's rules for "addressed to the bot": an `at` segment whose qq is the bot's own number (text that merely reads
 * "@kuakua" is not one), or a `reply` segment quoting a message the bot sent.
 */
function readSegments(segments: Segment[], selfId: string) {
  let text = '';
  let mentionsBot = false;
  let replyTo: string | undefined;
  let atOther: { qq: string; span: string } | undefined;
  for (const s of segments) {
    if (s.type === 'text') text += s.data.text ?? '';
    else if (s.type === 'at') {
      if (s.data.qq === selfId) mentionsBot = true;
      else {
        const span = s.data.qq === 'all' ? '@全体成员' : `@${s.data.name || s.data.qq}`;
        if (s.data.qq !== 'all' && s.data.qq) atOther ??= { qq: s.data.qq, span };
        text += span;
      }
    } else if (s.type === 'reply') replyTo ??= s.data.id;
  }
  return { text, mentionsBot, replyTo, atOther };
}

/** The other member a group message names: the first `at` of someone else, else the author of the message it quotes. */
export type NamedMember = { qq: string; span: string } | { replyTo: string };

/** Translates a OneBot message event into the core's event model, or says why it is not handed to the core. */
export function toIncoming(e: MessageEvent, ctx: ReadContext): (IncomingMessage & { named?: NamedMember }) | { dropped: DropReason } {
  if (e.sub_type === 'anonymous' || (e.anonymous !== undefined && e.anonymous !== null)) return { dropped: 'anonymous' };
  if (e.time < ctx.startedAtSec) return { dropped: 'old' };
  const segments = typeof e.message === 'string' ? parseCq(e.message) : e.message;
  const { text, mentionsBot, replyTo, atOther } = readSegments(segments, e.self_id);
  const repliesToBot = replyTo !== undefined && ctx.sentByBot(replyTo);
  const named: NamedMember | undefined =
    e.message_type !== 'group' ? undefined : (atOther ?? (replyTo !== undefined && !repliesToBot ? { replyTo } : undefined));
  return {
    platform: 'qq',
    chatId: chatIdOf(e),
    messageId: e.message_id,
    userId: e.user_id,
    userName: e.sender?.card || e.sender?.nickname || undefined,
    text,
    isPrivate: e.message_type === 'private',
    mentionsBot,
    repliesToBot,
    // The core ignores it: one place decides that a bot's own messages get no answer.
    fromBot: e.user_id === e.self_id,
    sentAt: e.time * 1000,
    ...(named && { named }),
  };
}

export interface Target {
  type: 'group' | 'private';
  id: number;
}

/** The group or user a chat id ("group:<n>" / "private:<n>") names, or undefined when it names neither. */
export function targetOf(chatId: string): Target | undefined {
  const m = /^(group|private):(\d+)$/.exec(chatId);
  const id = Number(m?.[2]);
  return m && Number.isSafeInteger(id) ? { type: m[1] as Target['type'], id } : undefined;
}

/** One part of a reply: the first part quotes the asked message and, in a group, @-mentions its author. */
export function replySegments(target: Target, text: string, quote?: { messageId: string; userId: string }): Segment[] {
  if (!quote) return [textSegment(text)];
  const reply: Segment = { type: 'reply', data: { id: quote.messageId } };
  return target.type === 'group' ? [reply, { type: 'at', data: { qq: quote.userId } }, textSegment(` ${text}`)] : [reply, textSegment(text)];
}
