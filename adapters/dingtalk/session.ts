import { isExpired, replyBody, type ReplyTarget } from './translate.ts';

const SEND_TIMEOUT_MS = 10_000;
/** At most this many messages keep their reply target; the oldest is forgotten first. */
const MAX_PENDING = 10_000;

/** An answer that cannot be sent and must not be retried: the webhook expired or was never known. */
export type Undeliverable = 'expired-webhook' | 'unknown-message';

/**
 * The reply targets of messages handed to the core, until their webhook expires or the core ignores the message: a
 * reply (every reply of a chorus) can only go to the sessionWebhook that came with the message it answers.
 */
export function sessionWebhooks() {
  /** `sent`: the parts of an answer posted before one of its later parts failed. */
  const pending = new Map<string, { target: ReplyTarget; sent?: { text: string; parts: number } }>();
  const key = (chatId: string, messageId: string) => `${chatId}\u0000${messageId}`;
  return {
    remember(chatId: string, messageId: string, target: ReplyTarget) {
      const now = Date.now();
      for (const [k, { target: t }] of pending) if (isExpired(t.expiresAt, now)) pending.delete(k);
      pending.set(key(chatId, messageId), { target });
      if (pending.size > MAX_PENDING) pending.delete(pending.keys().next().value as string);
    },
    forget(chatId: string, messageId: string) {
      pending.delete(key(chatId, messageId));
    },
    /** The target to answer `messageId` with, or why there is none. */
    lookup(chatId: string, messageId: string): ReplyTarget | Undeliverable {
      const target = pending.get(key(chatId, messageId))?.target;
      if (!target) return 'unknown-message';
      return isExpired(target.expiresAt) ? 'expired-webhook' : target;
    },
    /** How many parts of `text` were already posted as the answer to `messageId`: a retried answer skips them. */
    postedParts(chatId: string, messageId: string, text: string): number {
      const sent = pending.get(key(chatId, messageId))?.sent;
      return sent?.text === text ? sent.parts : 0;
    },
    posted(chatId: string, messageId: string, text: string, parts: number) {
      const entry = pending.get(key(chatId, messageId));
      if (entry) entry.sent = { text, parts };
    },
  };
}

/** Posts one text message to a sessionWebhook; throws on a transport error or a DingTalk errcode, so it is retried. */
export async function postToWebhook(target: ReplyTarget, text: string, at: boolean): Promise<void> {
  const res = await fetch(target.webhook, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(replyBody(text, at ? target.atUserId : undefined)),
    signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    redirect: 'error',
  });
  const answer = (await res.json().catch(() => null)) as { errcode?: unknown; errmsg?: unknown } | null;
  if (!res.ok || (answer?.errcode !== undefined && answer.errcode !== 0)) {
    const reason = answer?.errcode !== undefined ? `errcode ${String(answer.errcode)}: ${String(answer.errmsg ?? '').slice(0, 100)}` : `HTTP ${res.status}`;
    throw new Error(`DingTalk sessionWebhook refused the reply (${reason})`);
  }
}
