import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { IncomingMessage } from '../../src/events.ts';
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

/**
 * A web message is a private chat with the bot, so every message triggers. A userId is only the caller's claim, with
 * a token or without (the API token is shared by every client), so it is namespaced and never matches an admin id:
 * the web admin is whoever sends the operator token.
 */
export function toIncomingMessage(req: PraiseRequest, clientAddress: string, credential: Credential): IncomingMessage {
  const userId = req.userId ? `unverified:${req.userId}` : anonymousId(clientAddress);
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
    sentAt: Date.now(),
    // The HTTP request stays open for the answer: without a worker, the queue.onTimeout answer comes at once.
    noWorker: 'answer',
  };
}
