import { createHash } from 'node:crypto';
import { z } from 'zod';
import { MAX_CHORUS, MAX_SUBJECT_CHARS } from '../../common/limits.ts';
import { PLATFORMS } from '../events.ts';
import { INTENTS } from '../intents.ts';
import { SCRIPTS } from '../script.ts';

/** Longest post handed to the model; longer messages are cut (the model's context is small anyway). */
export const MAX_POST_CHARS = 300;

/** Longest text a user may hand in at all (web API, `kuakua praise`): a longer one is refused, not cut. */
export const MAX_TEXT_CHARS = 2000;

const platform = z.enum(PLATFORMS);

/** Where a praise came from: sampled by the model, or retrieved from the praise corpus. */
export const PRAISE_SOURCES = ['generated', 'retrieved'] as const;
export type PraiseSource = (typeof PRAISE_SOURCES)[number];

/** Who asked, and where the answer goes: carried unchanged from the request job to the reply. */
const addressing = {
  /** platform:chatId:messageId, the idempotency key. */
  key: z.string().min(1),
  platform,
  chatId: z.string().min(1),
  messageId: z.string().min(1),
  userId: z.string().min(1),
  userName: z.string().optional(),
  /** The bot process that owns the chat; the reply goes to its reply queue. */
  instanceId: z.string().min(1),
  /** Milliseconds since epoch when the bot queued the request. */
  enqueuedAt: z.number().int(),
  /** The post reader's intent (absent when no reader read the post): it decides the reply's tone. */
  intent: z.enum(INTENTS).optional(),
  /** The script the post was written in: the reply is delivered in it. */
  script: z.enum(SCRIPTS).optional(),
  /** Set when the ask praises another member (userId and userName are theirs): every reply addresses them by it. */
  friend: z.string().min(1).optional(),
};

/** A job's addressing alone (zod drops every other key). */
export const addressingSchema = z.object(addressing);

/** Request queue job: one praise to generate. */
export const praiseJobSchema = z.object({
  ...addressing,
  post: z.string().min(1).max(MAX_POST_CHARS),
  /** What the post is about, a span of it as the post reader found it: retrieved praises name it. */
  subject: z.string().max(MAX_SUBJECT_CHARS).optional(),
  /** Replies wanted (src/chorus.ts); a job queued by a bot that knows no chorus wants one. */
  chorus: z.number().int().min(1).max(MAX_CHORUS).default(1),
});
export type PraiseJob = z.infer<typeof praiseJobSchema>;

/** Reply queue jobs: a worker's answer, or the bot's own timeout that fires when no answer came in time. */
export const replyJobSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('reply'),
    ...addressing,
    text: z.string().min(1),
    kind: z.enum(['praise', 'fallback']),
    /** Where a praise came from: sampled by the model, or retrieved from the praise corpus. */
    source: z.enum(PRAISE_SOURCES).optional(),
    /** The rest of a chorus, in order, after `text`. */
    also: z
      .array(z.string().min(1))
      .max(MAX_CHORUS - 1)
      .optional(),
    model: z.string(),
    queueWaitMs: z.number().min(0),
    generationMs: z.number().min(0),
  }),
  z.object({ type: z.literal('timeout'), ...addressing, post: z.string().min(1), subject: z.string().max(MAX_SUBJECT_CHARS).optional() }),
  /** One later reply of a chorus, for a platform that takes each as a message of its own, sent chorus.gapMs apart. */
  z.object({
    type: z.literal('chorus'),
    ...addressing,
    /** Its place in the chorus, from 1 (the first reply went with the worker's reply job). */
    index: z
      .number()
      .int()
      .min(1)
      .max(MAX_CHORUS - 1),
    /** As sent: in the post's script, with its voice named. */
    text: z.string().min(1),
    voice: z.object({ name: z.string().min(1), avatar: z.string().min(1) }),
    model: z.string(),
  }),
]);
export type ReplyJob = z.infer<typeof replyJobSchema>;

/** How many finished jobs each queue keeps (queue.retention.completed / failed). */
export function finishedJobRetention(r: { completed: number; failed: number }) {
  return { removeOnComplete: { count: r.completed }, removeOnFail: { count: r.failed } };
}

/** Reply jobs, whether a worker's answer or the bot's own timeout: delivery to a platform is retried with backoff. */
export function replyJobOptions(r: { completed: number; failed: number }) {
  return { attempts: 5, backoff: { type: 'exponential' as const, delay: 500 }, ...finishedJobRetention(r) };
}

/** One reply queue per bot instance: only that process consumes it, so replies reach the process that owns the chat. */
export const replyQueueName = (queueName: string, instanceId: string) => `${queueName}-reply-${instanceId}`;

export function idempotencyKey(p: { platform: string; chatId: string; messageId: string }): string {
  return `${p.platform}:${p.chatId}:${p.messageId}`;
}

/** BullMQ job ids may not contain ':' and should be short: a hash of the idempotency key. */
export function jobIdFor(key: string, kind: 'req' | 'reply' | 'timeout' | 'chorus'): string {
  return `${kind}-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/** Our own Redis keys (BullMQ uses the same prefix for its queues). */
export function redisKeys(prefix: string) {
  return {
    /** Set once per incoming message: drops platform redeliveries. */
    seen: (key: string) => `${prefix}:seen:${key}`,
    /** Times each reply text (by textKey) was sent on one UTC day, over all chats (src/variety.ts). */
    sent: (day: string) => `${prefix}:sent:${day}`,
    /** Set by whoever sends the one answer to a message (reply, fallback, busy or silent timeout). */
    answered: (key: string) => `${prefix}:answered:${key}`,
    /** The platform's users who asked not to be praised when someone else names them (/kuakua_optout). */
    optedOut: (platform: string) => `${prefix}:optout:${platform}`,
    history: (platform: string, chatId: string) => `${prefix}:history:${platform}:${chatId}`,
    cooldown: (platform: string, userId: string) => `${prefix}:cooldown:${platform}:${userId}`,
    /** Set while a user's care reply in a chat is fresh (distress.repeatSeconds). */
    care: (platform: string, chatId: string, userId: string) => `${prefix}:care:${platform}:${chatId}:${userId}`,
    chatRate: (platform: string, chatId: string, window: number) => `${prefix}:rate:${platform}:${chatId}:${window}`,
    chatSettings: (platform: string, chatId: string) => `${prefix}:chat:${platform}:${chatId}`,
    /** The reply queue index: bot instance ids scored by when their reply queue may be deleted (src/retention.ts). */
    replyQueues: () => `${prefix}:reply-queues`,
    /** The worker registry: ids scored by when their heartbeat runs out (src/heartbeat.ts). */
    workers: () => `${prefix}:workers`,
    /** What a live worker advertises; expires with its heartbeat. */
    worker: (id: string) => `${prefix}:worker:${id}`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;
