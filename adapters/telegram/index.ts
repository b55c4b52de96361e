import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Telegraf, TelegramError } from 'telegraf';
import type { Message, UserFromGetMe } from 'telegraf/types';
import { PermanentAdapterError, type AdapterContext, type RunningAdapter } from '../../src/adapter.ts';
import type { Delivery } from '../../src/events.ts';
import { backoffDelay, pause } from '../shared/backoff.ts';
import { checkedDeliver } from '../shared/deliveryIds.ts';
import { createDispatcher } from '../shared/dispatch.ts';
import { describeError, redactedError, redactor } from '../shared/redact.ts';
import { closeServer, createHttpServer, listen } from '../shared/httpServer.ts';
import { splitMessage } from '../shared/split.ts';
import { standaloneFaults } from '../shared/supervise.ts';
import { seenMembers } from './members.ts';
import { friendOf, namedMember, parseCommand, toIncoming } from './translate.ts';
import { guardWebhook } from './webhook.ts';

export const TELEGRAM_MAX_MESSAGE = 4096;

export interface TelegramWebhookOptions {
  /** Public https URL registered with setWebhook; the local listener serves `path` on host:port (behind a TLS proxy). */
  url: string;
  host: string;
  port: number;
  path: string;
  /** Echoed by Telegram in X-Telegram-Bot-Api-Secret-Token; a random one is made when absent. */
  secretToken?: string;
}

export interface TelegramOptions {
  token: string;
  /** A self-hosted Bot API server, e.g. "http://127.0.0.1:8081". */
  apiRoot?: string;
  /** Long polling when absent. */
  webhook?: TelegramWebhookOptions;
  /** Attempts per sendMessage before giving up (429 and network errors are retried). */
  maxSendAttempts?: number;
}

const isNetworkError = (err: unknown) => err instanceof Error && (err.name === 'FetchError' || err.name === 'AbortError');

export async function startTelegramAdapter(ctx: AdapterContext & TelegramOptions): Promise<RunningAdapter> {
  const { core, token, apiRoot, webhook, maxSendAttempts = 5 } = ctx;
  const hook = webhook && { ...webhook, secretToken: webhook.secretToken ?? randomBytes(24).toString('hex') };
  const redact = redactor(token, hook?.secretToken);
  const logger = ctx.logger.child({ adapter: 'telegram' });
  const faults = ctx.faults ?? standaloneFaults(logger);
  const bot = new Telegraf(token, { telegram: { apiRoot }, handlerTimeout: 10_000 });
  const stopping = new AbortController();

  const sendChunk = async (chatId: string, text: string, replyTo?: number) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await bot.telegram.sendMessage(chatId, text, replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {});
      } catch (err) {
        const retryAfter = err instanceof TelegramError && err.code === 429 ? (err.parameters?.retry_after ?? 1) : undefined;
        if (attempt >= maxSendAttempts || stopping.signal.aborted || (retryAfter === undefined && !isNetworkError(err))) throw err;
        const waitMs = retryAfter !== undefined ? retryAfter * 1000 : backoffDelay(attempt - 1);
        logger.warn({ chatId, attempt, waitMs, err: describeError(err, redact) }, 'sendMessage failed, retrying');
        await pause(waitMs, stopping.signal);
      }
    }
  };

  const deliver = checkedDeliver('telegram', logger, async (d: Delivery) => {
    const replyTo = Number(d.replyToMessageId);
    const chunks = splitMessage(d.text, TELEGRAM_MAX_MESSAGE);
    for (const [i, chunk] of chunks.entries()) {
      await sendChunk(d.chatId, chunk, i === 0 ? replyTo : undefined);
    }
  });

  const dispatcher = createDispatcher({ core, logger, deliver, redact });

  const members = seenMembers();
  /** The member a message names, as a friend: in this chat if Telegram says so (getChatMember). */
  const friendNamed = async (message: Message, me: UserFromGetMe) => {
    let named = namedMember(message, me);
    if (!named) return undefined;
    if ('username' in named) {
      const user = members.find(message.chat.id, named.username);
      // A username never seen in this chat cannot be looked up by the Bot API: not known to be a member.
      if (!user)
        return { friend: { userId: `@${named.username}`, name: named.username, isBot: /bot$/i.test(named.username), inChat: false }, span: named.span };
      named = { user, span: named.span };
    }
    const user = named.user;
    // The author of a message in this chat is one of its members.
    if (named.span === undefined) return { friend: friendOf(user, true, named.repliedText) };
    const member = await bot.telegram.getChatMember(message.chat.id, user.id).catch(() => undefined);
    const inChat = member !== undefined && !['left', 'kicked'].includes(member.status);
    return { friend: friendOf(user, inChat), span: named.span };
  };

  bot.on('message', async (tctx) => {
    const message = tctx.message;
    if (message.from) members.saw(message.chat.id, message.from);
    const command = parseCommand(message, tctx.botInfo);
    if (command === 'other-bot') return;
    const named = command ? undefined : await friendNamed(message, tctx.botInfo);
    const msg = toIncoming(message, tctx.botInfo, command, named?.friend, named?.span);
    if (msg) dispatcher.submit(msg);
  });
  // A handler that throws is this one update's problem: logged (once per distinct error), and polling goes on.
  bot.catch((err, tctx) => faults.warn(redactedError(err, redact), 'update handler failed', { updateId: tctx.update.update_id }));

  // Validates the token up front: a wrong token is a clear start-up error, not a retry loop.
  try {
    bot.botInfo = await bot.telegram.getMe();
  } catch (err) {
    if (err instanceof TelegramError && err.code === 401) throw new PermanentAdapterError('Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)');
    throw new Error(`Telegram getMe failed: ${redact(err instanceof Error ? err.message : String(err))}`);
  }
  core.onDelivery('telegram', deliver);
  await bot.telegram
    .setMyCommands([
      { command: 'kuakua', description: '求夸：/kuakua <想被夸的事>' },
      { command: 'start', description: '使用说明' },
    ])
    .catch((err: unknown) => logger.warn({ err: describeError(err, redact) }, 'setMyCommands failed'));

  // Long polling: telegraf retries network errors inside its loop; anything that ends the loop (409 conflict, a broken
  // proxy answer) lands here and polling is relaunched with backoff instead of ending the process. A revoked token
  // (401) cannot get better by retrying: the supervisor shows the adapter as failed.
  const poll = async () => {
    for (let attempt = 0; !stopping.signal.aborted; ) {
      const startedAt = Date.now();
      try {
        await bot.launch({ allowedUpdates: ['message'] });
        if (stopping.signal.aborted) return;
        throw new Error('long polling ended');
      } catch (err) {
        if (stopping.signal.aborted) return;
        if (err instanceof TelegramError && err.code === 401) {
          return faults.fault(new PermanentAdapterError('Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)'));
        }
        if (Date.now() - startedAt > 60_000) attempt = 0;
        const waitMs = backoffDelay(attempt++);
        faults.warn(redactedError(err, redact), 'telegram connection lost, reconnecting', { waitMs });
        await pause(waitMs, stopping.signal);
      }
    }
  };

  let webhookServer: Server | undefined;
  if (hook) {
    const callback = bot.webhookCallback(hook.path, { secretToken: hook.secretToken });
    const onError = (err: unknown) => logger.error({ err: describeError(err, redact) }, 'webhook update failed');
    webhookServer = createHttpServer(guardWebhook(callback, hook, onError));
    await listen(webhookServer, hook.port, hook.host, (err) => faults.warn(redactedError(err, redact), 'telegram webhook server error'));
    await bot.telegram.setWebhook(hook.url, { secret_token: hook.secretToken, allowed_updates: ['message'] }).catch(async (err: unknown) => {
      await closeServer(webhookServer!);
      throw new Error(`Telegram setWebhook failed: ${redact(err instanceof Error ? err.message : String(err))}`);
    });
  }
  const supervisor = webhook ? Promise.resolve() : poll();

  // bot.stop() only reaches the polling loop once launch() has created it (after deleteWebhook), and telegraf may sit in
  // its fixed 5 s retry wait: keep stopping until the supervisor has returned, for at most a few seconds.
  const stopPolling = async () => {
    let settled = false;
    void supervisor.finally(() => (settled = true));
    for (const deadline = Date.now() + 6_000; !settled && Date.now() < deadline; await pause(50)) {
      try {
        bot.stop('shutdown');
      } catch {
        // not launched yet
      }
    }
  };

  logger.info({ username: bot.botInfo.username, mode: webhook ? 'webhook' : 'polling' }, 'telegram adapter started');

  return {
    name: 'telegram',
    async stop() {
      stopping.abort();
      if (webhookServer) await closeServer(webhookServer);
      else await stopPolling();
      await dispatcher.drain();
    },
  };
}
