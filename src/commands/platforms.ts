import type { Logger } from 'pino';
import type { BotCore, RunningAdapter } from '../adapter.ts';
import type { Config } from '../config.ts';

interface PlatformLauncher {
  name: string;
  /** The environment variables that switch the adapter on, for messages. */
  env: string;
  configured(config: Config, env: NodeJS.ProcessEnv): boolean;
  /** Imported only when configured, so a platform SDK that fails to load cannot break the others. */
  start(ctx: { core: BotCore; logger: Logger }, config: Config, env: NodeJS.ProcessEnv): Promise<RunningAdapter>;
}

const LAUNCHERS: PlatformLauncher[] = [
  {
    name: 'telegram',
    env: 'TELEGRAM_BOT_TOKEN',
    configured: (config) => Boolean(config.secrets.telegramBotToken?.trim()),
    async start(ctx, config, env) {
      const { telegramOptions, startTelegramAdapter } = await import('../../adapters/telegram/index.ts');
      return startTelegramAdapter({ ...ctx, ...telegramOptions(config, env)! });
    },
  },
  {
    name: 'discord',
    env: 'DISCORD_TOKEN',
    configured: (config) => Boolean(config.secrets.discordToken?.trim()),
    async start(ctx, config, env) {
      const { discordOptions, startDiscordAdapter } = await import('../../adapters/discord/index.ts');
      return startDiscordAdapter({ ...ctx, ...discordOptions(config, env)! });
    },
  },
  {
    name: 'wechat',
    env: 'WECHATY_PUPPET or WECHATY_PUPPET_SERVICE_TOKEN',
    configured: (config, env) => Boolean(env.WECHATY_PUPPET?.trim() || config.secrets.wechatyPuppetServiceToken?.trim()),
    async start(ctx, config, env) {
      const { wechatOptions, startWechatAdapter } = await import('../../adapters/wechat/index.ts');
      return startWechatAdapter({ ...ctx, ...wechatOptions(config, env) });
    },
  },
];

export interface PlatformsResult {
  running: RunningAdapter[];
  /** Configured adapters that failed to start, with the reason. */
  failed: { name: string; error: string }[];
  /** Adapters left off because their credentials are not in the environment. */
  off: { name: string; env: string }[];
}

/** Starts every platform adapter whose credentials are in the environment; one failing does not stop the others. */
export async function startPlatformAdapters(
  ctx: { core: BotCore; logger: Logger },
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PlatformsResult> {
  const result: PlatformsResult = { running: [], failed: [], off: [] };
  for (const launcher of LAUNCHERS) {
    if (!launcher.configured(config, env)) {
      result.off.push({ name: launcher.name, env: launcher.env });
      continue;
    }
    try {
      result.running.push(await launcher.start(ctx, config, env));
    } catch (err) {
      const error = (err as Error).message;
      ctx.logger.error({ adapter: launcher.name, err: error }, 'adapter failed to start');
      result.failed.push({ name: launcher.name, error });
    }
  }
  return result;
}
