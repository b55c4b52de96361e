import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { MAX_CHORUS } from '../../common/limits.ts';
import type { Friend, IncomingMessage } from '../../src/events.ts';
import { wellFormed } from '../../src/triggers.ts';
import type { Credential } from './auth.ts';
import { HttpError } from './http.ts';

// Control, format (zero-width, RTL marks), separator and whitespace characters: none of them is something to praise.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Z}\s]/gu;

const idSchema = () =>
  z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(64, 'must be at most 64 characters')
    .regex(/^[\p{L}\p{N}_.:@-]+$/u, 'may contain only letters, digits and _ . : @ -');

export function praiseRequestSchema(maxTextChars: number) {
  return z.strictObject({
    text: z
      .string({ error: 'must be a string' })
      .min(1, 'must not be empty')
      .transform(wellFormed)
      .refine((s) => s.replace(INVISIBLE, '') !== '', 'must contain visible characters')
      .refine((s) => [...s].length <= maxTextChars, `must be at most ${maxTextChars} characters`),
    chatId: idSchema().optional(),
    userId: idSchema().optional(),
    /** Replies wanted, up to the chat's chorus. */
    chorus: z
      .number({ error: `must be a whole number from 1 to ${MAX_CHORUS}` })
      .int()
      .min(1)
      .max(MAX_CHORUS)
      .optional(),
  });
}

export type PraiseRequest = z.infer<ReturnType<typeof praiseRequestSchema>>;

export function parsePraiseRequest(body: unknown, maxTextChars: number): PraiseRequest {
  const parsed = praiseRequestSchema(maxTextChars).safeParse(body);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  const field = issue?.path.join('.') || 'body';
  throw new HttpError(400, 'invalid_request', `${field}: ${issue?.message ?? 'invalid'}`);
}

const anonymousId = (ip: string) => `anon-${createHash('sha256').update(ip).digest('hex').slice(0, 12)}`;

// The web's mention format: "@名字" up to a space or punctuation.
const MENTION = /@([^\s@,，.。!！?？:：;；、]{1,16})/u;

/**
 * The friend a web message names with "@名字". The playground is one person's room with the bot's chorus, so any name
 * written there is a member of it; the bot's own name and its voices' are bots.
 */
function webFriend(text: string, bots: readonly string[]): Friend | undefined {
  const name = MENTION.exec(text)?.[1];
  if (!name) return undefined;
  return { userId: `web-name:${name}`, name, isBot: bots.includes(name), inChat: true };
}

/**
 * A web message is a private chat with the bot, so every message triggers. A userId is only the caller's claim, with
 * a token or without (the API token is shared by every client), so it is namespaced and never matches an admin id:
 * the web admin is whoever sends the operator token.
 */
export function toIncomingMessage(req: PraiseRequest, clientAddress: string, credential: Credential, bots: readonly string[] = []): IncomingMessage {
  const userId = req.userId ? `unverified:${req.userId}` : anonymousId(clientAddress);
  const friend = webFriend(req.text, bots);
  return {
    platform: 'web',
    chatId: req.chatId ?? userId,
    messageId: `web-${randomUUID()}`,
    userId,
    adminByCredential: credential === 'operator',
    text: req.text,
    isPrivate: true,
    mentionsBot: false,
    repliesToBot: false,
    fromBot: false,
    ...(friend && { friend, mentionTexts: [`@${friend.name}`] }),
    ...(req.chorus && { chorus: req.chorus }),
    sentAt: Date.now(),
    // The HTTP request stays open for the answer: without a worker, the queue.onTimeout answer comes at once.
    noWorker: 'answer',
  };
}
