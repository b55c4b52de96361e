import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import { Client, DefaultCache, Domain, EventDispatcher, LoggerLevel, WSClient } from '@larksuiteoapi/node-sdk';
import type { Logger } from 'pino';
import { PermanentAdapterError, type AdapterContext, type FaultReporter, type RunningAdapter } from '../../src/adapter.ts';
import type { Delivery } from '../../src/events.ts';
import { backoffDelay, pause } from '../shared/backoff.ts';
import { recentKeys } from '../shared/dedupe.ts';
import { checkedDeliver } from '../shared/deliveryIds.ts';
import { createDispatcher } from '../shared/dispatch.ts';
import { describeError, redactedError, redactor } from '../shared/redact.ts';
import { isLoopbackHost } from '../shared/secrets.ts';
import { splitMessage } from '../shared/split.ts';
import { standaloneFaults } from '../shared/supervise.ts';
import { fetchBotInfo, isRetryable, replyText } from './api.ts';
import { closeServer } from '../shared/httpServer.ts';
import { startCallbackServer } from './callback.ts';
import type { FeishuOptions } from './definition.ts';
import { sdkLogger } from './sdkLogger.ts';
import { isChatMember } from './members.ts';
import { friendOf, mentionedPerson, messageEvent, toIncoming, type FeishuMessageEvent } from './translate.ts';

/** Feishu allows text messages up to a 150 KB request body; 4000 characters stays far below it and reads well. */
export const FEISHU_MAX_MESSAGE = 4000;
/** The SDK's long connection only starts for app ids of this form (it logs and returns otherwise). */
const APP_ID = /^cli_[0-9a-fA-F]{16}$/;
/** Seconds without any frame after a ping before the SDK drops the connection and reconnects. */
const PING_TIMEOUT_S = 30;

const baseUrl = (domain: string) => (domain === 'feishu' ? Domain.Feishu : domain === 'lark' ? Domain.Lark : domain.replace(/\/+$/, ''));

/** Same chunk to the same message → same uuid: Feishu drops a resend (a retried delivery) within an hour. */
const replyUuid = (messageId: string, index: number, chunk: string) =>
  createHash('sha256').update(`${messageId}\u0000${index}\u0000${chunk}`).digest('hex').slice(0, 32);

export async function startFeishuAdapter(ctx: AdapterContext & FeishuOptions): Promise<RunningAdapter> {
  const { core, appId, appSecret, callback, maxSendAttempts = 5, connectTimeoutMs = 30_000 } = ctx;
  const redact = redactor(appSecret, callback?.verificationToken, callback?.encryptKey);
  const logger = ctx.logger.child({ adapter: 'feishu' });
  const faults = ctx.faults ?? standaloneFaults(logger);
  if (!callback && !APP_ID.test(appId)) throw new PermanentAdapterError('FEISHU_APP_ID must be "cli_" and 16 hex digits, as the developer console shows it');
  if (callback && !callback.encryptKey) {
    if (!isLoopbackHost(callback.host)) {
      throw new PermanentAdapterError(
        `feishu callback mode on ${callback.host} needs FEISHU_ENCRYPT_KEY: without it callbacks are not signed, and anyone who reaches the port can post events (set an Encrypt Key in the developer console, or listen on 127.0.0.1)`,
      );
    }
    logger.warn('feishu callbacks are not signed: set FEISHU_ENCRYPT_KEY (an Encrypt Key in the developer console) to refuse forged and replayed callbacks');
  }

  const sdk = { appId, appSecret, domain: baseUrl(ctx.domain), logger: sdkLogger(logger, redact), loggerLevel: LoggerLevel.info };
  // A cache of its own: the SDK's shared one would hand a token fetched with other credentials to this client.
  const client = new Client({ ...sdk, cache: new DefaultCache() });
  const me = await fetchBotInfo(client, redact);
  const stopping = new AbortController();
  /** The bot's own replies, to recognise replies to them. */
  const sent = recentKeys();

  const sendChunk = async (messageId: string, text: string, uuid: string) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const id = await replyText(client, messageId, text, uuid);
        if (id) sent.seen(id);
        return;
      } catch (err) {
        if (attempt >= maxSendAttempts || stopping.signal.aborted || !isRetryable(err)) throw redactedError(err, redact);
        const waitMs = backoffDelay(attempt - 1);
        logger.warn({ messageId, attempt, waitMs, err: describeError(err, redact) }, 'feishu reply failed, retrying');
        await pause(waitMs, stopping.signal);
      }
    }
  };

  const deliver = checkedDeliver('feishu', logger, async (d: Delivery) => {
    for (const [i, chunk] of splitMessage(d.text, FEISHU_MAX_MESSAGE).entries()) {
      await sendChunk(d.replyToMessageId, chunk, replyUuid(d.replyToMessageId, i, chunk));
    }
  });

  const dispatcher = createDispatcher({ core, logger, deliver, redact });
  /** Feishu delivers an event again when its ack is late: the same event_id is handled once. */
  const events = recentKeys();

  /** The person a message @-mentions, as a friend, if there is one; a look-up that fails leaves them not known to be a member. */
  const friendIn = async (ev: FeishuMessageEvent) => {
    const person = mentionedPerson(ev, me);
    if (!person) return undefined;
    const inChat = await isChatMember(client, ev.message.chat_id, person.openId).catch((err: unknown) => {
      faults.warn(redactedError(err, redact), 'feishu chat member look-up failed');
      return false;
    });
    return friendOf(person, inChat);
  };

  const onMessage = async (data: unknown) => {
    const parsed = messageEvent.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return faults.warn(new Error(`${issue?.path.join('.') || 'event'}: ${issue?.message ?? 'invalid'}`), 'malformed feishu message event');
    }
    const ev = parsed.data;
    if (ev.event_id && events.seen(ev.event_id)) return logger.debug({ eventId: ev.event_id }, 'duplicate feishu event dropped');
    let msg: ReturnType<typeof toIncoming>;
    try {
      msg = toIncoming(ev, me, (id) => sent.has(id), await friendIn(ev));
    } catch (err) {
      return faults.warn(redactedError(err, redact), 'malformed feishu message content', { messageId: ev.message.message_id });
    }
    if (!msg) return logger.debug({ messageId: ev.message.message_id }, 'feishu message without text skipped');
    dispatcher.submit(msg);
  };

  const eventDispatcher = new EventDispatcher({ logger: sdk.logger, loggerLevel: sdk.loggerLevel }).register({ 'im.message.receive_v1': onMessage });

  let server: Server | undefined;
  let ws: WSClient | undefined;
  if (callback) {
    server = await startCallbackServer(callback, eventDispatcher, {
      onRejected: (reason) => faults.warn(new Error(reason), 'feishu callback rejected', { reason }),
      onError: (err) => faults.warn(redactedError(err, redact), 'feishu callback failed'),
    });
  } else {
    ws = await connect(sdk, eventDispatcher, { connectTimeoutMs, redact, faults, logger, stopping: stopping.signal });
  }

  core.onDelivery('feishu', deliver);
  logger.info({ bot: me.name, openId: me.openId, mode: callback ? 'callback' : 'websocket' }, 'feishu adapter started');

  return {
    name: 'feishu',
    async stop() {
      stopping.abort();
      ws?.close({ force: true });
      if (server) await closeServer(server);
      await dispatcher.drain();
    },
  };
}

/**
 * Opens the SDK's long connection and resolves once it is up. The SDK reconnects by itself (endpoint discovery, then
 * the socket) after a drop; when it gives up, the supervisor restarts the adapter. A refusal of the endpoint discovery
 * (the app has no long connection enabled, a revoked secret) is final.
 */
async function connect(
  sdk: ConstructorParameters<typeof WSClient>[0],
  eventDispatcher: EventDispatcher,
  run: { connectTimeoutMs: number; redact: (t: string) => string; faults: FaultReporter; logger: Logger; stopping: AbortSignal },
): Promise<WSClient> {
  const { redact, faults, logger, stopping } = run;
  let started = false;
  let settle: (err?: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
  const gaveUp = (err: Error) => {
    const reason = redact(err.message);
    return /pullConnectConfig failed/.test(reason)
      ? new PermanentAdapterError(
          `Feishu refused the long connection (${reason}): enable "receive events through persistent connection" in the developer console`,
        )
      : new Error(`feishu long connection gave up: ${reason}`);
  };
  const ws = new WSClient({
    ...sdk,
    autoReconnect: true,
    handshakeTimeoutMs: 15_000,
    wsConfig: { pingTimeout: PING_TIMEOUT_S },
    onReady: () => settle(),
    onError: (err) => (started ? faults.fault(gaveUp(err)) : settle(gaveUp(err))),
    onReconnecting: () => {
      if (!stopping.aborted) logger.warn('feishu long connection lost, reconnecting');
    },
    onReconnected: () => logger.info('feishu long connection back'),
  });
  const timer = setTimeout(() => settle(new Error(`feishu long connection did not open within ${run.connectTimeoutMs} ms`)), run.connectTimeoutMs);
  try {
    // Together: the SDK may take its discovery and handshake timeouts to return from start(), and a timeout rejecting
    // `ready` meanwhile must already have a handler.
    await Promise.all([ws.start({ eventDispatcher }), ready]);
    started = true;
    return ws;
  } catch (err) {
    ws.close({ force: true });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
