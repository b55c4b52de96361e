import { DEFINITIONS } from '../../adapters/registry.ts';
import { supervise, type SupervisedAdapter } from '../../adapters/shared/supervise.ts';
import type { AdapterContext } from '../adapter.ts';
import type { AppConfig } from './config.ts';
import type { ProcessGuard } from './processGuard.ts';

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
  config: AppConfig,
  { env = process.env, guard, settleMs = 15_000 }: PlatformsOptions = {},
): Promise<PlatformsResult> {
  const result: PlatformsResult = { running: [], off: [] };
  const sections: Record<string, unknown> = config;
  for (const definition of DEFINITIONS) {
    const options = definition.options(sections[definition.section], env);
    if (options === undefined) {
      result.off.push({ name: definition.name, env: definition.env });
      continue;
    }
    const adapter = supervise({ name: definition.name, logger: ctx.logger, start: (faults) => definition.start({ ...ctx, faults }, options) });
    // Kept after the adapter stops: an SDK's late error during shutdown is still its own, not a reason to exit 1.
    const home = new RegExp(`adapters[\\\\/]${definition.name}[\\\\/]`);
    guard?.add({ name: definition.name, pattern: definition.sdk, home, fault: (err) => adapter.fault(err) });
    result.running.push(adapter);
  }
  await Promise.all(result.running.map((a) => a.settled(settleMs)));
  return result;
}
