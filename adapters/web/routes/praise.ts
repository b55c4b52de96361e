import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HandleResult, IgnoredReason } from '../../../src/adapter.ts';
import type { Delivery, DeliveryKind } from '../../../src/events.ts';
import { withTimeout } from '../../../src/timeout.ts';
import type { Credential } from '../auth.ts';
import type { WebContext } from '../context.ts';
import { HttpError, readJsonBody, sendJson } from '../http.ts';
import { parsePraiseRequest, toIncomingMessage } from '../praiseRequest.ts';

/**
 * POST /api/praise: the web message goes through the same core and queue as every platform;
 * the request stays open until the delivery for its message id comes back.
 */
export async function praiseRoute(ctx: WebContext, req: IncomingMessage, res: ServerResponse, client: { address: string; credential: Credential }) {
  const started = performance.now();
  const body = parsePraiseRequest(await readJsonBody(req, ctx.options.bodyLimitBytes), ctx.options.maxTextChars);
  const msg = toIncomingMessage(body, client.address, client.credential, ctx.options.botNames);
  const reply = ctx.pending.expect(msg.messageId, ctx.options.replyTimeoutMs);

  let result: HandleResult;
  try {
    // During a Redis outage the core's commands wait for the reconnect; the client gets an answer within the reply timeout anyway.
    result = await withTimeout(ctx.core.handle(msg), ctx.options.replyTimeoutMs);
  } catch (err) {
    ctx.pending.cancel(msg.messageId);
    ctx.logger.error({ err, messageId: msg.messageId }, 'web: core.handle failed');
    throw ignoredError('unavailable');
  }

  if (result.action === 'ignored') {
    ctx.pending.cancel(msg.messageId);
    throw ignoredError(result.reason);
  }

  let delivery: Delivery | null;
  if (result.action === 'replied') {
    ctx.pending.cancel(msg.messageId);
    delivery = result.delivery;
  } else {
    delivery = await reply;
  }
  const latencyMs = Math.round(performance.now() - started);
  if (!delivery) {
    throw new HttpError(503, 'no_reply', `No worker answered within ${ctx.options.replyTimeoutMs} ms`, { 'retry-after': '5' });
  }
  // The worker's reply job names the model that wrote it; answers the core gives itself (fallback, care, commands) have none.
  const replies = delivery.chorus ?? [{ text: delivery.text, voice: delivery.voice }];
  const payload = { reply: delivery.text, replies, kind: delivery.kind, latencyMs, model: delivery.model ?? null };
  if (STATUS[delivery.kind] === 503) return sendJson(res, 503, { error: 'busy', ...payload }, { 'retry-after': '5' });
  sendJson(res, 200, payload);
}

/** Every kind but busy is an answer the bot gave: 200, and `kind` says which. */
const STATUS: Record<DeliveryKind, 200 | 503> = { praise: 200, fallback: 200, admin: 200, help: 200, refusal: 200, care: 200, busy: 503 };

const notAnswered = (reason: IgnoredReason) => new HttpError(422, 'ignored', `The bot did not answer this message: ${reason}`);

/** Every reason of the core's for not answering (src/adapter.ts) has its HTTP error: a new or renamed reason breaks the build here. */
const IGNORED: Record<IgnoredReason, (reason: IgnoredReason) => HttpError> = {
  cooldown: () => new HttpError(429, 'cooldown', 'This user was praised a moment ago; wait for the cooldown', { 'retry-after': '10' }),
  'rate-limited': () => new HttpError(429, 'rate_limited', 'This chat asked for too many praises this minute', { 'retry-after': '60' }),
  busy: () => new HttpError(503, 'busy', 'The praise queue is full; try again shortly', { 'retry-after': '5' }),
  'no-worker': () => new HttpError(503, 'no_reply', 'No worker is online to generate praise; try again later', { 'retry-after': '5' }),
  unavailable: () => new HttpError(503, 'unavailable', 'The praise queue is unavailable right now; try again shortly', { 'retry-after': '5' }),
  disabled: notAnswered,
  'no-trigger': notAnswered,
  'mention-required': notAnswered,
  'from-bot': notAnswered,
  invalid: notAnswered,
  duplicate: notAnswered,
  'distress-repeat': notAnswered,
};

export const ignoredError = (reason: IgnoredReason): HttpError => IGNORED[reason](reason);
