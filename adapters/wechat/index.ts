import { resolve } from 'node:path';
import qrcodeTerminal from 'qrcode-terminal';
import { WechatyBuilder, type Contact, type Message, type Room, type Wechaty } from 'wechaty';
import type * as PUPPET from 'wechaty-puppet';
import { PermanentAdapterError, type AdapterContext, type RunningAdapter } from '../../src/adapter.ts';
import type { Delivery } from '../../src/events.ts';
import { mkdirPrivate } from '../../src/privateFiles.ts';
import { checkedDeliver } from '../shared/deliveryIds.ts';
import { createDispatcher } from '../shared/dispatch.ts';
import { pause } from '../shared/backoff.ts';
import { describeError, redactedError, redactor } from '../shared/redact.ts';
import { splitMessage } from '../shared/split.ts';
import { standaloneFaults } from '../shared/supervise.ts';
import { routeWechatyLogs } from './logs.ts';
import { assertPuppetInstalled } from './puppet.ts';
import { patchWechatyResolver } from './resolver.ts';
import { patchWechat4u } from './wechat4u.ts';
import { toIncoming } from './translate.ts';

/** How long a started puppet has to show a QR code, log in or fail before its start counts as a success. */
const START_GRACE_MS = 2000;

/** WeChat has no documented limit; very long texts are cut by clients, so replies are kept to readable pieces. */
export const WECHAT_MAX_MESSAGE = 2000;

export interface WechatOptions {
  /** An npm puppet module name, or a puppet instance (tests pass a PuppetMock). */
  puppet: string | PUPPET.impls.PuppetInterface;
  /** For service puppets (wechaty-puppet-service). */
  puppetToken?: string;
  /** Bot name; the login session is kept in `<memoryDir>/<name>.memory-card.json`. */
  name: string;
  memoryDir: string;
  /** Print the login QR code on the terminal (on by default). */
  printQr?: boolean;
}

/** A service token the puppet refuses cannot get better by retrying: the adapter is shown as failed with the reason. */
function tokenProblem(message: string): PermanentAdapterError | undefined {
  if (/token is not known/.test(message)) return new PermanentAdapterError(`the puppet service does not know WECHATY_PUPPET_SERVICE_TOKEN (${message})`);
  if (/requires a SNI as prefix of the token/.test(message)) {
    return new PermanentAdapterError(
      'WECHATY_PUPPET_SERVICE_TOKEN has no SNI prefix: service tokens look like puppet_padlocal_…, or insecure_… for a server without TLS',
    );
  }
  return undefined;
}

export async function startWechatAdapter(ctx: AdapterContext & WechatOptions): Promise<RunningAdapter> {
  const { core, puppet, puppetToken, name, memoryDir, printQr = true } = ctx;
  const redact = redactor(puppetToken);
  const logger = ctx.logger.child({ adapter: 'wechat' });
  const faults = ctx.faults ?? standaloneFaults(logger);
  if (typeof puppet === 'string') {
    try {
      assertPuppetInstalled(puppet);
    } catch (err) {
      throw new PermanentAdapterError((err as Error).message);
    }
  }
  // The memory card is the login (uin, sid, skey, cookies): whoever reads it is the bot on WeChat, without a scan.
  mkdirPrivate(memoryDir);
  routeWechatyLogs(ctx.logger);
  patchWechatyResolver();
  // wechat4u registers a process-wide uncaughtException listener that prints to the console and swallows every crash
  // of the process; listeners that appear while the puppet loads are taken out again (after bot.start()).
  const processListeners = new Set(process.listeners('uncaughtException'));
  if (puppet === 'wechaty-puppet-wechat4u') {
    await patchWechat4u((err, afterStop) => {
      if (afterStop) logger.debug({ err: describeError(err, redact) }, 'wechat4u listener failed after the puppet stopped');
      else faults.warn(redactedError(err, redact), 'wechat4u listener failed');
    });
  }

  const bot: Wechaty = WechatyBuilder.build({
    name: resolve(memoryDir, name),
    ...(typeof puppet === 'string' ? { puppet: puppet as never, ...(puppetToken ? { puppetOptions: { token: puppetToken } } : {}) } : { puppet }),
  });
  const startedAt = Date.now();

  const deliver = checkedDeliver('wechat', logger, async (d: Delivery) => {
    const chunks = splitMessage(d.text, WECHAT_MAX_MESSAGE);
    const room: Room | undefined = d.chatId === d.userId ? undefined : await bot.Room.find({ id: d.chatId });
    if (room) {
      // room.say(text, contact) prefixes "@name " and fills the mention list, so the asker is notified.
      const talker: Contact | undefined = await bot.Contact.find({ id: d.userId });
      for (const [i, chunk] of chunks.entries()) await (i === 0 && talker ? room.say(chunk, talker) : room.say(chunk));
      return;
    }
    const contact = await bot.Contact.find({ id: d.chatId });
    if (!contact) throw new Error(`wechat: no room or contact ${d.chatId}`);
    for (const chunk of chunks) await contact.say(chunk);
  });
  const dispatcher = createDispatcher({ core, logger, deliver, redact });

  /** A QR code was shown: the puppet reached its login server, and logging in is up to a person now. */
  let scanned = false;
  let running = false;
  let startError: Error | undefined;
  const settledStart = new Promise<void>((resolve) => {
    for (const event of ['scan', 'login', 'error'] as const) bot.once(event, () => resolve());
  });

  bot.on('scan', (qrcode, status) => {
    scanned = true;
    ctx.login?.set('wechat', { status: 'scan', qrcode });
    logger.info({ status }, 'scan the QR code with WeChat to log in (also shown on the web page)');
    if (printQr) qrcodeTerminal.generate(qrcode, { small: true });
  });
  bot.on('login', (user) => {
    ctx.login?.set('wechat', { status: 'logged-in', user: user.name() });
    logger.info({ user: user.name() }, 'wechat logged in');
  });
  bot.on('logout', (user) => {
    ctx.login?.set('wechat', { status: 'logged-out', user: user.name() });
    logger.warn({ user: user.name() }, 'wechat logged out');
  });
  // Wechaty reports puppet problems here. Once a QR code was shown or the account is logged in, the puppet reconnects by
  // itself (wechaty-puppet's watchdog). Before that, an error means the puppet cannot reach its login server (no
  // network, a wrong service token): wechat4u would retry in a tight loop and wechaty-puppet-service gives up, so the
  // supervisor starts the adapter over with backoff instead.
  bot.on('error', (err) => {
    const e = redactedError(err, redact);
    if (scanned || bot.isLoggedIn) return faults.warn(e, 'wechaty error');
    const failure = tokenProblem(e.message) ?? e;
    if (running) faults.fault(failure);
    else startError ??= failure;
  });

  const onMessage = async (message: Message) => {
    // After a (re)login the puppet replays the backlog; only messages sent while we run are answered.
    // age() is in whole seconds, hence the one-second allowance.
    if (Date.now() - message.age() * 1000 < startedAt - 1000) return;
    if (message.type() !== bot.Message.Type.Text) return;
    dispatcher.submit(await toIncoming(message, bot.Contact.Type.Official));
  };
  bot.on('message', (message: Message) => {
    onMessage(message).catch((err: unknown) => logger.warn({ messageId: message.id, err: describeError(err, redact) }, 'could not read a wechat message'));
  });

  core.onDelivery('wechat', deliver);
  try {
    // Resolves once the puppet runs; login happens later, when someone scans the QR code (or from the memory card).
    // Do not wait for 'ready': some puppets (PuppetMock among them) never emit it.
    await bot.start();
  } catch (err) {
    const message = redact(err instanceof Error ? err.message : String(err));
    startError ??= tokenProblem(message) ?? new Error(`WeChat puppet failed to start: ${message}`);
  } finally {
    for (const listener of process.listeners('uncaughtException')) if (!processListeners.has(listener)) process.off('uncaughtException', listener);
  }
  // A puppet that cannot reach its login server says so within moments of starting (wechat4u: at once); one that can
  // shows a QR code or logs in from its saved session. Until one of these, or START_GRACE_MS, the start is not a success.
  if (!startError && !scanned && !bot.isLoggedIn) await Promise.race([settledStart, pause(START_GRACE_MS)]);
  if (startError) {
    await bot.stop().catch(() => undefined);
    throw startError;
  }
  running = true;
  logger.info({ puppet: typeof puppet === 'string' ? puppet : puppet.name() }, 'wechat adapter started');

  return {
    name: 'wechat',
    async stop() {
      running = false;
      await dispatcher.drain();
      await bot.stop();
    },
  };
}
