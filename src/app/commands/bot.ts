import type { Command } from 'commander';
import type { Logger } from 'pino';
import { startWebAdapter } from '../../../adapters/web/index.ts';
import { describeAdapterStatus, setAdapterStatus } from '../../adapterStatus.ts';
import { createCore } from '../../core.ts';
import type { AppConfig } from '../config.ts';
import { LoginStore } from '../../loginState.ts';
import type { RedisTarget } from '../../redisTarget.ts';
import { registry } from '../../metrics.ts';
import type { ProcessGuard } from '../processGuard.ts';
import { stopAll } from '../shutdown.ts';
import { startPlatformAdapters } from '../platforms.ts';
import { loadReader } from '../reader.ts';
import { runRole, type Part } from '../role.ts';

export interface BotRole {
  url: string;
  /** Names of the adapters configured, web first. */
  adapters: string[];
  /** One line per adapter that is not running (yet): "telegram: retrying (ENOTFOUND api.telegram.org), next try in 8 s". */
  notes: string[];
  /** Platform adapters and web: stopped first, so no new messages come in. */
  front: Part[];
  core: Part;
}

/** The bot role: the core, the web playground/API and every platform adapter configured in the environment. */
export async function startBotRole(
  config: AppConfig,
  logger: Logger,
  redis: RedisTarget,
  { env = process.env, guard }: { env?: NodeJS.ProcessEnv; guard?: ProcessGuard } = {},
): Promise<BotRole> {
  const reader = await loadReader(config.reader.dir, logger);
  const core = await createCore({ config, logger, redis, reader }).catch(async (err: unknown) => {
    await reader?.close();
    throw err;
  });
  const corePart: Part = { name: 'core', stop: () => core.close().finally(() => reader?.close()) };
  const login = new LoginStore();
  const parts: Part[] = [];
  try {
    const web = await startWebAdapter({ core, logger, login }, config, registry);
    parts.push(web);
    setAdapterStatus('web', { state: 'running' });
    const platforms = await startPlatformAdapters({ core, logger, login }, config, { env, guard });
    parts.unshift(...platforms.running);
    for (const off of platforms.off) logger.info({ adapter: off.name }, `adapter off (set ${off.env} to enable)`);
    const notes = platforms.running.filter((a) => a.status().state !== 'running').map((a) => describeAdapterStatus(a.name, a.status()));
    const status = await core.status();
    if (status.redis && status.workers === 0) {
      const note = `no worker online: start one with \`npx kuakua worker\` on the same Redis (until then web requests get queue.onTimeout, ${config.queue.onTimeout}, at once)`;
      logger.warn({ onTimeout: config.queue.onTimeout }, note);
      notes.push(note);
    }
    return { url: web.url, adapters: [web.name, ...platforms.running.map((a) => a.name)], notes, front: parts, core: corePart };
  } catch (err) {
    await stopAll(logger, [...parts, corePart]);
    throw err;
  }
}

/** The start banner, then one indented line per adapter that is not running. */
export function bannerWithNotes(banner: string, notes: string[]): string {
  return [banner, ...notes.map((n) => `  ${n}`)].join('\n');
}

export function registerBot(program: Command): void {
  program
    .command('bot')
    .description('run the bot role: web playground/API and the platform adapters configured in the environment (needs a worker on the same Redis)')
    .action(() =>
      runRole('bot', async ({ config, logger, redis, guard }) => {
        const bot = await startBotRole(config, logger, redis, { guard });
        return { parts: [...bot.front, bot.core], banner: bannerWithNotes(`kuakua bot: ${bot.url}  (adapters: ${bot.adapters.join(', ')})`, bot.notes) };
      }),
    );
}
