import type { Command } from 'commander';
import type { Logger } from 'pino';
import { startWebAdapter } from '../../adapters/web/index.ts';
import { createBotCore } from '../bot.ts';
import type { Config } from '../config.ts';
import { registry } from '../metrics.ts';
import { stopAll } from '../shutdown.ts';
import { startPlatformAdapters } from './platforms.ts';
import { runRole, type Part } from './role.ts';

export interface BotRole {
  url: string;
  /** Names of the adapters that run, web first. */
  adapters: string[];
  /** Platform adapters and web: stopped first, so no new messages come in. */
  front: Part[];
  core: Part;
}

/** The bot role: the core, the web playground/API and every platform adapter configured in the environment. */
export async function startBotRole(config: Config, logger: Logger, redisUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<BotRole> {
  const core = await createBotCore({ config, logger, redisUrl });
  const corePart: Part = { name: 'core', stop: () => core.close() };
  const parts: Part[] = [];
  try {
    const web = await startWebAdapter({ core, logger }, config, registry);
    const platforms = await startPlatformAdapters({ core, logger }, config, env);
    parts.push(...platforms.running, web);
    for (const off of platforms.off) logger.info({ adapter: off.name }, `adapter off (set ${off.env} to enable)`);
    return { url: web.url, adapters: [web.name, ...platforms.running.map((a) => a.name)], front: parts, core: corePart };
  } catch (err) {
    await stopAll(logger, [...parts, corePart]);
    throw err;
  }
}

export function registerBot(program: Command): void {
  program
    .command('bot')
    .description('run the bot role: web playground/API and the platform adapters configured in the environment (needs a worker on the same Redis)')
    .action(() =>
      runRole('bot', async ({ config, logger, redisUrl }) => {
        const bot = await startBotRole(config, logger, redisUrl);
        return { parts: [...bot.front, bot.core], banner: `kuakua bot: ${bot.url}  (adapters: ${bot.adapters.join(', ')})` };
      }),
    );
}
