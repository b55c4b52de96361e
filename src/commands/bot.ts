import type { Command } from 'commander';
import type { Logger } from 'pino';
import { startWebAdapter } from '../../adapters/web/index.ts';
import { createBotCore } from '../bot.ts';
import { loadConfigOrExit, type Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { registry } from '../metrics.ts';
import { ensureRedis } from '../redis.ts';
import { exitOnSignals, stopAll } from '../shutdown.ts';
import { startPlatformAdapters } from './platforms.ts';

type Part = { name: string; stop(): Promise<void> };

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

/** Runs `start`, stopping whatever started before a failure, and exits 1 with the reason on stderr. */
export async function runRole(
  command: string,
  logger: Logger,
  start: () => Promise<{ parts: Part[]; banner: string }>,
): Promise<void> {
  try {
    const { parts, banner } = await start();
    process.stdout.write(`${banner}\n`);
    exitOnSignals(logger, () => stopAll(logger, parts));
  } catch (err) {
    const message = (err as Error).message;
    logger.fatal({ err: message }, `${command} could not start`);
    process.stderr.write(`kuakua ${command}: ${message}\n`);
    process.exit(1);
  }
}

export function registerBot(program: Command): void {
  program
    .command('bot')
    .description('run the bot role: web playground/API and the platform adapters configured in the environment (needs a worker on the same Redis)')
    .action(async () => {
      const config = loadConfigOrExit();
      const logger = createLogger({ level: config.log.level });
      await runRole('bot', logger, async () => {
        const redis = await ensureRedis({ url: config.secrets.redisUrl, logger, autoStart: config.redis.autoStart, dataDir: config.redis.dataDir });
        const bot = await startBotRole(config, logger, redis.url);
        const parts = [...bot.front, bot.core];
        if (redis.stop) parts.push({ name: 'redis', stop: redis.stop });
        return { parts, banner: `kuakua bot: ${bot.url}  (adapters: ${bot.adapters.join(', ')})` };
      });
    });
}
