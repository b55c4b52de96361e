import type { Logger } from 'pino';
import { loadConfigOrExit, type AppConfig } from './config.ts';
import { createLogger } from '../logger.ts';
import { createProcessGuard, type ProcessGuard } from './processGuard.ts';
import { moveLegacyKeys } from '../legacyKeys.ts';
import { createRedis, ensureRedisTarget } from '../redis.ts';
import { redisTarget, type RedisTarget } from '../redisTarget.ts';
import { exitOnSignals, stopAll } from './shutdown.ts';
import { secureStateDirs } from './stateDirs.ts';

export type Part = { name: string; stop(): Promise<void> };

export interface RoleContext {
  config: AppConfig;
  logger: Logger;
  /** The Redis every connection of the role goes to: REDIS_URL (the private server's, with its password), or Sentinel. */
  redis: RedisTarget;
  /** Installed for the whole run: uncaught errors from an adapter's SDK restart that adapter instead of ending the process. */
  guard: ProcessGuard;
}

/**
 * The frame of a long-running command: config, logger and a Redis that answers (a private one if allowed),
 * then `start`. Prints its banner and stops its parts, then the private Redis, on SIGINT/SIGTERM.
 * Any failure exits 1 with the reason on stderr.
 */
export async function runRole(
  command: string,
  start: (ctx: RoleContext) => Promise<{ parts: Part[]; banner: string }>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const config = loadConfigOrExit({ env });
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  const guard = createProcessGuard(logger);
  guard.install();
  try {
    secureStateDirs(config);
    const redis = await ensureRedisTarget(redisTarget(config), { logger, autoStart: config.redis.autoStart, dataDir: config.redis.dataDir });
    const client = createRedis(redis.target, { logger });
    await moveLegacyKeys(client, config.redis.prefix, config.queue.name, logger).finally(() => client.disconnect());
    const { parts, banner } = await start({ config, logger, redis: redis.target, guard });
    if (redis.stop) parts.push({ name: 'redis', stop: redis.stop });
    // Before the banner: whoever waits for it may signal at once, and under load this process can be descheduled
    // between the two.
    exitOnSignals(logger, () => stopAll(logger, parts));
    process.stdout.write(`${banner}\n`);
  } catch (err) {
    // One line, on stderr: the reason is for the person at the terminal, and a log line would only repeat it.
    process.stderr.write(`kuakua ${command}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
