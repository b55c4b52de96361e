import type { WebSocket } from 'ws';
import { PermanentAdapterError, type AdapterContext, type RunningAdapter } from '../../src/adapter.ts';
import type { Delivery } from '../../src/events.ts';
import { backoffDelay, realClock, type Clock } from '../shared/backoff.ts';
import { recentKeys } from '../shared/dedupe.ts';
import { checkedDeliver } from '../shared/deliveryIds.ts';
import { createDispatcher } from '../shared/dispatch.ts';
import { describeError, redactedError, redactor } from '../shared/redact.ts';
import { isLoopbackHost } from '../shared/secrets.ts';
import { splitMessage } from '../shared/split.ts';
import { standaloneFaults } from '../shared/supervise.ts';
import { ActionNotSentError, ActionUnansweredError, createActions, OneBotActionError, type ActionLink } from './actions.ts';
import { toCq } from './cq.ts';
import { connectForward } from './forward.ts';
import { createLinks, type LinkOrigin } from './links.ts';
import { listenReverse, MAX_REVERSE_CONNECTIONS, type RefusalStatus, type ReverseServer } from './reverse.ts';
import { resolveFriend } from './friend.ts';
import { chatIdOf, readFrame, replySegments, targetOf, toIncoming, type MessageEvent } from './translate.ts';

/**
 * Characters per QQ message part. QQ takes about 4500 characters of text in one message; 3000 leaves room for the
 * quoted reply and @ of the first part and for implementations that count differently, and reads better in a chat.
 */
export const QQ_MAX_MESSAGE = 3000;
/** How many of the bot's own sent message ids are remembered, to recognise a reply to one of them. */
const SENT_IDS_KEPT = 2000;

export interface QqReverseOptions {
  host: string;
  port: number;
  path: string;
}

export interface QqOptions {
  /** Forward WebSocket: the implementation's server, e.g. ws://127.0.0.1:3001. */
  wsUrl?: string;
  /** Reverse WebSocket: kuakua's server that the implementation connects to. */
  reverse?: QqReverseOptions;
  /** ONEBOT_ACCESS_TOKEN: sent as `Authorization: Bearer` (forward), required of connecting clients (reverse). */
  accessToken?: string;
  actionTimeoutMs?: number;
  sendAttempts?: number;
  sendFormat?: 'array' | 'string';
  /** How often each connection is pinged; one that misses a pong is dropped as dead (half-open TCP). */
  pingMs?: number;
  /** What the reconnect and send backoffs wait on; the real clock unless a test passes a virtual one. */
  clock?: Clock;
}

const REFUSALS: Record<RefusalStatus, string> = {
  400: 'malformed request path',
  401: 'missing or wrong access token',
  404: 'wrong path',
  503: `already ${MAX_REVERSE_CONNECTIONS} connections open`,
};

/** A token written into the forward URL (`?access_token=`) is a secret too. */
function urlToken(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).searchParams.get('access_token') ?? undefined;
  } catch {
    return undefined;
  }
}

/** The forward URL as logged: without userinfo and query, where a token too short for the redactor may sit. */
function loggableUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.href;
  } catch {
    return '(unparsable URL)';
  }
}

export async function startQqAdapter(ctx: AdapterContext & QqOptions): Promise<RunningAdapter> {
  const { core, wsUrl, reverse, accessToken, actionTimeoutMs = 10_000, sendAttempts = 3, sendFormat = 'array', pingMs = 30_000, clock = realClock } = ctx;
  if (!wsUrl && !reverse) throw new Error('QQ adapter: set ONEBOT_WS_URL (forward) or onebot.reverse.port (reverse)');
  if (reverse && !accessToken && !isLoopbackHost(reverse.host))
    throw new PermanentAdapterError(
      `Refusing to serve the OneBot reverse WebSocket on ${reverse.host} without ONEBOT_ACCESS_TOKEN: set ONEBOT_ACCESS_TOKEN ` +
        '(the same token in the implementation) or bind 127.0.0.1 (onebot.reverse.host).',
    );
  const redact = redactor(accessToken, urlToken(wsUrl));
  const logger = ctx.logger.child({ adapter: 'qq' });
  const faults = ctx.faults ?? standaloneFaults(logger);
  const stopping = new AbortController();
  const startedAtSec = Math.floor(Date.now() / 1000);
  const sentByBot = recentKeys(SENT_IDS_KEPT);
  const actions = createActions(actionTimeoutMs);
  const links = createLinks();

  /**
   * One action, retried with backoff only while it certainly did not happen: it was never sent (no open connection),
   * or the implementation answered with a retcode that may pass. One sent but unanswered may have been delivered.
   */
  const act = async (action: string, params: Record<string, unknown>): Promise<unknown> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await actions.call(await links.next(actionTimeoutMs, stopping.signal), action, params);
      } catch (err) {
        const retcode = err instanceof OneBotActionError ? err.retcode : undefined;
        const mayPass = err instanceof ActionNotSentError || (err instanceof OneBotActionError && !err.permanent);
        if (!mayPass || attempt >= sendAttempts || stopping.signal.aborted) throw err;
        const waitMs = backoffDelay(attempt - 1);
        logger.warn({ action, attempt, retcode, waitMs, err: describeError(err, redact) }, 'onebot action failed, retrying');
        await clock.pause(waitMs, stopping.signal);
      }
    }
  };

  /** One look-up, not retried: a failure means no such member or message, or the implementation cannot tell. */
  const lookUp = async (action: string, params: Record<string, unknown>) => actions.call(await links.next(actionTimeoutMs, stopping.signal), action, params);

  const deliver = checkedDeliver('qq', logger, async (d: Delivery) => {
    const target = targetOf(d.chatId);
    if (!target) throw new Error(`not a QQ chat id: ${d.chatId}`);
    const action = target.type === 'group' ? 'send_group_msg' : 'send_private_msg';
    for (const [i, chunk] of splitMessage(d.text, QQ_MAX_MESSAGE).entries()) {
      const segments = replySegments(target, chunk, i === 0 ? { messageId: d.replyToMessageId, userId: d.userId } : undefined);
      const params = { [target.type === 'group' ? 'group_id' : 'user_id']: target.id, message: sendFormat === 'string' ? toCq(segments) : segments };
      let data: unknown;
      try {
        data = await act(action, params);
      } catch (err) {
        if (err instanceof ActionUnansweredError) {
          // Sending it again could post it twice; nor may the core retry the delivery.
          logger.warn({ chatId: d.chatId, action, err: describeError(err, redact) }, 'onebot send unanswered; not retried, it may have been sent');
          return;
        }
        if (!(err instanceof OneBotActionError && err.permanent)) throw err;
        // Retrying cannot help (a request the implementation refuses as such): drop the reply rather than have the core retry it.
        logger.error({ chatId: d.chatId, action, retcode: err.retcode, err: describeError(err, redact) }, 'onebot refused the reply, dropping it');
        return;
      }
      const id = (data as { message_id?: unknown } | null | undefined)?.message_id;
      if (typeof id === 'number' || typeof id === 'string') sentByBot.seen(String(id));
    }
  });

  const dispatcher = createDispatcher({ core, logger, deliver, redact });

  const onMessage = async (e: MessageEvent) => {
    const read = toIncoming(e, { startedAtSec, sentByBot: (id) => sentByBot.has(id) });
    if ('dropped' in read) {
      logger.debug({ chatId: chatIdOf(e), messageId: e.message_id, reason: read.dropped }, 'qq message dropped');
      return;
    }
    const { named, ...msg } = read;
    const found = named && e.group_id !== undefined ? await resolveFriend(named, Number(e.group_id), e.self_id, lookUp) : undefined;
    dispatcher.submit(found ? { ...msg, friend: found.friend, mentionTexts: found.span ? [found.span] : [] } : msg);
  };

  /** An event names the bot's account (self_id): a connection that claimed another in X-Self-ID sends nothing from then on. */
  const observe = (link: ActionLink, selfId: string | undefined, fields: Record<string, unknown>) => {
    if (selfId !== undefined && links.observe(link, selfId) === 'mismatch')
      faults.warn(new Error(`events from ${selfId}`), 'onebot connection reports another account than its X-Self-ID; it gets no actions', fields);
  };

  const onFrame = (raw: string, link: ActionLink, fields: Record<string, unknown>) => {
    const frame = readFrame(raw);
    switch (frame.kind) {
      case 'response':
        if (!actions.settle(frame.response)) logger.debug({ echo: frame.response.echo.slice(0, 60) }, 'onebot response to no action of ours');
        return;
      case 'message':
        observe(link, frame.event.self_id, fields);
        // A named member is looked up with actions first, whose responses arrive through this same function.
        void onMessage(frame.event).catch((err: unknown) => faults.warn(redactedError(err, redact), 'qq message not handled'));
        return;
      case 'meta':
        observe(link, frame.selfId, fields);
        if (frame.metaType === 'lifecycle') logger.info({ selfId: frame.selfId, subType: frame.subType }, 'onebot lifecycle event');
        return;
      case 'quiet':
        return;
      case 'unknown':
        return faults.warn(new Error(`post_type ${frame.postType}`), 'onebot event of an unknown type ignored');
      case 'malformed':
        return faults.warn(new Error(frame.problem), 'malformed onebot frame ignored');
    }
  };

  /** Reads a connection's frames; one that carries actions (see createLinks) serves deliveries until it closes. */
  const attach = (ws: WebSocket, origin: LinkOrigin, fields: Record<string, unknown>) => {
    const link: ActionLink = { send: (frame) => ws.send(frame) };
    ws.on('message', (data) => onFrame(data.toString(), link, fields));
    ws.on('error', (err) => faults.warn(redactedError(err, redact), 'onebot connection error', fields));
    ws.once('close', (code) => {
      links.remove(link);
      actions.linkClosed(link);
      logger.info({ ...fields, code }, 'onebot disconnected');
    });
    links.add(link, origin);
    logger.info(fields, 'onebot connected');
  };

  let server: ReverseServer | undefined;
  if (reverse) {
    server = await listenReverse({
      ...reverse,
      token: accessToken,
      pingMs,
      onConnection: (ws, { role, selfId, remote }) => {
        const fields = { via: 'reverse', role, selfId, remote };
        attach(ws, { via: 'reverse', role, selfId }, fields);
        if (role !== 'event' && selfId === undefined)
          faults.warn(new Error('no numeric X-Self-ID header'), 'onebot reverse connection without X-Self-ID gets no actions', fields);
      },
      onRefused: (remote, status) => faults.warn(new Error(REFUSALS[status]), `onebot reverse connection refused (${status})`, { remote }),
      onError: (err) => faults.warn(redactedError(err, redact), 'onebot reverse server error'),
    });
  }
  if (wsUrl) {
    try {
      await connectForward({
        url: wsUrl,
        token: accessToken,
        pingMs,
        clock,
        signal: stopping.signal,
        onOpen: (ws) => attach(ws, { via: 'forward' }, { via: 'forward', url: loggableUrl(wsUrl) }),
        onRetry: (err, waitMs) => faults.warn(redactedError(err, redact), 'onebot connection lost, reconnecting', { waitMs }),
        onRefused: (err) => faults.fault(err),
      });
    } catch (err) {
      stopping.abort();
      await server?.close();
      throw err instanceof PermanentAdapterError ? err : redactedError(err, redact);
    }
  }
  // Registered once connected: an attempt that failed (a wrong token) must not take deliveries from a running adapter.
  core.onDelivery('qq', deliver);
  logger.info({ forward: wsUrl ? loggableUrl(wsUrl) : undefined, reversePort: server?.port }, 'qq adapter started');

  return {
    name: 'qq',
    async stop() {
      stopping.abort();
      await server?.close();
      await dispatcher.drain();
    },
  };
}
