import { PermanentAdapterError, type AdapterContext, type RunningAdapter } from '../../src/adapter.ts';
import type { Delivery } from '../../src/events.ts';
import { backoffDelay, pause } from '../shared/backoff.ts';
import { checkedDeliver } from '../shared/deliveryIds.ts';
import { createDispatcher } from '../shared/dispatch.ts';
import { redactedError, redactor } from '../shared/redact.ts';
import { splitMessage } from '../shared/split.ts';
import { standaloneFaults } from '../shared/supervise.ts';
import type { DingtalkOptions } from './options.ts';
import { postToWebhook, sessionWebhooks } from './session.ts';
import { StreamClient, type RobotCallback } from './stream.ts';
import { mentionPrefix, parseRobotMessage, replyTarget, toIncoming } from './translate.ts';

/** DingTalk's text messages are cut at about 20 000 bytes; 5000 characters stays well inside that for Chinese text. */
export const DINGTALK_MAX_TEXT = 5000;
/** A connection that lasted this long starts the reconnect backoff over. */
const STABLE_MS = 60_000;
/**
 * Kept for the life of the process, not of one adapter start: a reply the core delivers after the supervisor restarted
 * the adapter still needs the webhook its message came with.
 */
const webhooks = sessionWebhooks();

export type { DingtalkOptions } from './options.ts';

export async function startDingtalkAdapter(ctx: AdapterContext & DingtalkOptions): Promise<RunningAdapter> {
  const { core, clientId, clientSecret, gatewayUrl, webhookOrigins, heartbeatMs = 10_000 } = ctx;
  const redact = redactor(clientSecret);
  const logger = ctx.logger.child({ adapter: 'dingtalk' });
  const faults = ctx.faults ?? standaloneFaults(logger);
  const stopping = new AbortController();

  const deliver = checkedDeliver('dingtalk', logger, async (d: Delivery) => {
    const target = webhooks.lookup(d.chatId, d.replyToMessageId);
    if (typeof target === 'string') {
      logger.warn({ chatId: d.chatId, messageId: d.replyToMessageId, reason: target }, 'reply dropped: no usable sessionWebhook');
      return;
    }
    // A friend's praise @-mentions the friend instead of the asker.
    const to = d.userId === target.asker ? target : { ...target, atUserId: d.userId };
    const limit = DINGTALK_MAX_TEXT - (to.atUserId ? mentionPrefix(to.atUserId).length : 0);
    const parts = splitMessage(d.text, limit);
    // The core retries a failed delivery whole: the parts posted before the failure are not posted again.
    for (let i = webhooks.postedParts(d.chatId, d.replyToMessageId, d.text); i < parts.length; i++) {
      await postToWebhook(to, parts[i]!, i === 0);
      webhooks.posted(d.chatId, d.replyToMessageId, d.text, i + 1);
    }
    // The webhook is kept until it expires (or is pushed out): the later replies of a chorus answer the same message.
  });

  const dispatcher = createDispatcher({ core, logger, deliver, redact });

  const onRobotMessage = ({ messageId, data }: RobotCallback) => {
    const m = parseRobotMessage(data);
    if (!m) return faults.warn(new Error('not a robot message'), 'malformed DingTalk robot message, acknowledged and ignored', { frameId: messageId });
    const msg = toIncoming(m);
    if (!msg) return logger.debug({ messageId: m.msgId, msgtype: m.msgtype }, 'non-text robot message ignored');
    const target = replyTarget(m, webhookOrigins);
    if (typeof target === 'string') {
      // The URL itself is not logged: it carries the session's token, and an untrusted one is attacker text.
      logger.warn({ chatId: msg.chatId, messageId: msg.messageId, reason: target }, 'robot message dropped: its sessionWebhook cannot be answered');
      return;
    }
    webhooks.remember(msg.chatId, msg.messageId, target);
    dispatcher.submit(msg, async () => webhooks.forget(msg.chatId, msg.messageId));
  };

  let connectedAt = 0;
  let failures = 0;
  /** The reconnect under way, if any: stop() waits for it so that nothing is opened after stop() has returned. */
  let reconnecting: Promise<void> = Promise.resolve();
  const connect = async () => {
    await client.getEndpoint();
    stopping.signal.throwIfAborted();
    await client._connect();
    connectedAt = Date.now();
  };

  const reconnect = async () => {
    if (Date.now() - connectedAt > STABLE_MS) failures = 0;
    while (!stopping.signal.aborted) {
      const waitMs = backoffDelay(failures++);
      await pause(waitMs, stopping.signal);
      if (stopping.signal.aborted) return;
      try {
        await connect();
        logger.info('dingtalk stream reconnected');
        return;
      } catch (err) {
        if (stopping.signal.aborted) return;
        if (err instanceof PermanentAdapterError) return faults.fault(err);
        faults.warn(new Error(redact(withCause(err))), 'dingtalk stream reconnect failed', { attempt: failures });
      }
    }
  };

  const client = new StreamClient(
    { clientId, clientSecret },
    {
      gatewayUrl,
      heartbeatMs,
      onRobotMessage(callback) {
        try {
          onRobotMessage(callback);
        } catch (err) {
          faults.warn(redactedError(err, redact), 'dingtalk robot message handler failed', { frameId: callback.messageId });
        }
      },
      onOddFrame(problem, detail) {
        if (problem === 'unknown-topic') logger.debug({ topic: detail.slice(0, 100) }, 'callback for an unsubscribed topic acknowledged and ignored');
        else faults.warn(new Error(detail), 'malformed DingTalk stream frame ignored');
      },
      onClose(code) {
        faults.warn(new Error(`closed with code ${code}`), 'dingtalk stream connection lost, reconnecting');
        reconnecting = reconnect();
      },
    },
  );

  try {
    await connect();
  } catch (err) {
    client.disconnect();
    if (err instanceof PermanentAdapterError) throw err;
    throw new Error(`DingTalk stream connection failed: ${redact(withCause(err))}`);
  }
  core.onDelivery('dingtalk', deliver);
  logger.info({ clientId }, 'dingtalk adapter started');

  return {
    name: 'dingtalk',
    async stop() {
      stopping.abort();
      client.disconnect();
      await reconnecting;
      await dispatcher.drain();
    },
  };
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED 127.0.0.1:443, ENOTFOUND …) is in its cause. */
function withCause(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined;
  return cause ? `${message}: ${cause}` : message;
}
