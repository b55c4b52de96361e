import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import qrcodeTerminal from 'qrcode-terminal';
import { WechatyBuilder, type Contact, type Message, type Room, type Wechaty } from 'wechaty';
import type * as PUPPET from 'wechaty-puppet';
import type { AdapterContext, RunningAdapter } from '../../src/adapter.ts';
import type { Config } from '../../src/config.ts';
import type { Delivery } from '../../src/events.ts';
import { setLoginState } from '../../src/loginState.ts';
import { createDispatcher } from '../shared/dispatch.ts';
import { describeError, redactor } from '../shared/redact.ts';
import { splitMessage } from '../shared/split.ts';
import { assertPuppetInstalled } from './puppet.ts';
import { toIncoming } from './translate.ts';

/** WeChat has no documented limit; very long texts are cut by clients, so replies are kept to readable pieces. */
export const WECHAT_MAX_MESSAGE = 2000;
const SERVICE_PUPPET = 'wechaty-puppet-service';

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

/**
 * Adapter options from config and environment: WECHATY_PUPPET wins over wechat.puppet, and a service token
 * alone selects the service puppet.
 */
export function wechatOptions(config: Pick<Config, 'wechat' | 'secrets'>, env: NodeJS.ProcessEnv = process.env): WechatOptions {
  const puppetToken = config.secrets.wechatyPuppetServiceToken?.trim() || undefined;
  return {
    puppet: env.WECHATY_PUPPET?.trim() || (puppetToken ? SERVICE_PUPPET : config.wechat.puppet),
    puppetToken,
    name: config.wechat.name,
    memoryDir: config.wechat.memoryDir,
  };
}

export async function startWechatAdapter(ctx: AdapterContext & WechatOptions): Promise<RunningAdapter> {
  const { core, puppet, puppetToken, name, memoryDir, printQr = true } = ctx;
  const redact = redactor(puppetToken);
  const logger = ctx.logger.child({ adapter: 'wechat' });
  if (typeof puppet === 'string') assertPuppetInstalled(puppet);
  mkdirSync(memoryDir, { recursive: true });

  const bot: Wechaty = WechatyBuilder.build({
    name: resolve(memoryDir, name),
    ...(typeof puppet === 'string'
      ? { puppet: puppet as never, ...(puppetToken ? { puppetOptions: { token: puppetToken } } : {}) }
      : { puppet }),
  });
  const startedAt = Date.now();

  const deliver = async (d: Delivery) => {
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
  };
  const dispatcher = createDispatcher({ core, logger, deliver, redact });

  bot.on('scan', (qrcode, status) => {
    setLoginState('wechat', { status: 'scan', qrcode });
    logger.info({ status }, 'scan the QR code with WeChat to log in (also shown on the web page)');
    if (printQr) qrcodeTerminal.generate(qrcode, { small: true });
  });
  bot.on('login', (user) => {
    setLoginState('wechat', { status: 'logged-in', user: user.name() });
    logger.info({ user: user.name() }, 'wechat logged in');
  });
  bot.on('logout', (user) => {
    setLoginState('wechat', { status: 'logged-out', user: user.name() });
    logger.warn({ user: user.name() }, 'wechat logged out');
  });
  // Wechaty reports puppet problems (network loss included) here; the puppet reconnects by itself.
  bot.on('error', (err) => logger.warn({ err: describeError(err, redact) }, 'wechaty error'));

  const onMessage = async (message: Message) => {
    // After a (re)login the puppet replays the backlog; only messages sent while we run are answered.
    // age() is in whole seconds, hence the one-second allowance.
    if (Date.now() - message.age() * 1000 < startedAt - 1000) return;
    if (message.type() !== bot.Message.Type.Text) return;
    const msg = await toIncoming(message, bot.Contact.Type.Official);
    if (!msg.fromBot) dispatcher.submit(msg);
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
    throw new Error(`WeChat puppet failed to start: ${redact(err instanceof Error ? err.message : String(err))}`);
  }
  logger.info({ puppet: typeof puppet === 'string' ? puppet : puppet.name() }, 'wechat adapter started');

  return {
    name: 'wechat',
    async stop() {
      await dispatcher.drain();
      await bot.stop();
    },
  };
}
