import type { Logger } from 'pino';
import { supervise, type SupervisedAdapter } from '../../adapters/shared/supervise.ts';
import type { AdapterContext, FaultReporter, RunningAdapter } from '../adapter.ts';
import type { Config } from '../config.ts';
import type { ProcessGuard } from './processGuard.ts';

interface PlatformLauncher {
  name: string;
  /** The environment variables that switch the adapter on, for messages. */
  env: string;
  configured(config: Config, env: NodeJS.ProcessEnv): boolean;
  /** Stack frames of the adapter's SDK: an uncaught error that passes through them is the adapter's to handle. */
  sdk: RegExp;
  /** Imported only when configured, so a platform SDK that fails to load cannot break the others. */
  start(ctx: AdapterContext & { faults: FaultReporter }, config: Config, env: NodeJS.ProcessEnv): Promise<RunningAdapter>;
}

const LAUNCHERS: PlatformLauncher[] = [
  {
    name: 'telegram',
    env: 'TELEGRAM_BOT_TOKEN',
    configured: (config) => Boolean(config.secrets.telegramBotToken?.trim()),
    sdk: /node_modules[\\/](telegraf|node-fetch|sandwich-stream)[\\/]/,
    async start(ctx, config, env) {
      const { telegramOptions, startTelegramAdapter } = await import('../../adapters/telegram/index.ts');
      return startTelegramAdapter({ ...ctx, ...telegramOptions(config, env)! });
    },
  },
  {
    name: 'discord',
    env: 'DISCORD_TOKEN',
    configured: (config) => Boolean(config.secrets.discordToken?.trim()),
    sdk: /node_modules[\\/](discord\.js|@discordjs|@sapphire|@vladfrangu|undici|ws)[\\/]/,
    async start(ctx, config, env) {
      const { discordOptions, startDiscordAdapter } = await import('../../adapters/discord/index.ts');
      return startDiscordAdapter({ ...ctx, ...discordOptions(config, env)! });
    },
  },
  {
    name: 'wechat',
    env: 'WECHATY_PUPPET or WECHATY_PUPPET_SERVICE_TOKEN',
    configured: (config, env) => Boolean(env.WECHATY_PUPPET?.trim() || config.secrets.wechatyPuppetServiceToken?.trim()),
    sdk: /node_modules[\\/](wechaty[^\\/]*|wechat4u|@grpc|@juzi[^\\/]*|brolog|gerror|state-switch|watchdog|memory-card|flash-store|file-box)[\\/]/,
    async start(ctx, config, env) {
      const { wechatOptions, startWechatAdapter } = await import('../../adapters/wechat/index.ts');
      return startWechatAdapter({ ...ctx, ...wechatOptions(config, env) });
    },
  },
];

export interface PlatformsResult {
  /** Every configured adapter, each under its own supervisor (running, or retrying, or failed: see status()). */
  running: SupervisedAdapter[];
  /** Adapters left off because their credentials are not in the environment. */
  off: { name: string; env: string }[];
}

export interface PlatformsOptions {
  env?: NodeJS.ProcessEnv;
  /** Uncaught errors from an adapter's SDK go to its supervisor. */
  guard?: ProcessGuard;
  /** How long to wait for the first attempts before the summary is printed (they go on in the background). */
  settleMs?: number;
}

/**
 * Starts every platform adapter whose credentials are in the environment, each in its own fault boundary: a network
 * failure at start or later is retried with backoff, a rejected token shows as failed, and neither stops the others.
 */
export async function startPlatformAdapters(
  ctx: AdapterContext,
  config: Config,
  { env = process.env, guard, settleMs = 15_000 }: PlatformsOptions = {},
): Promise<PlatformsResult> {
  const result: PlatformsResult = { running: [], off: [] };
  for (const launcher of LAUNCHERS) {
    if (!launcher.configured(config, env)) {
      result.off.push({ name: launcher.name, env: launcher.env });
      continue;
    }
    const adapter = supervise({ name: launcher.name, logger: ctx.logger, start: (faults) => launcher.start({ ...ctx, faults }, config, env) });
    // Kept after the adapter stops: an SDK's late error during shutdown is still its own, not a reason to exit 1.
    guard?.add({ name: launcher.name, pattern: launcher.sdk, fault: (err) => adapter.fault(err) });
    result.running.push(adapter);
  }
  await Promise.all(result.running.map((a) => a.settled(settleMs)));
  return result;
}
