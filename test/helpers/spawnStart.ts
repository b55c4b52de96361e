import { spawnKuakua, type KuakuaProcess } from './cli.ts';

/** `npm start` as a user runs it, with only `env` set on top of a clean environment. */
export function spawnStart(env: Record<string, string>): KuakuaProcess {
  return spawnKuakua(['start'], env);
}

/** Resolves with the page URL from the start banner; fails with the output when the process exits or stays silent. */
export async function waitForBanner(s: KuakuaProcess, timeoutMs = 90_000, banner = /kuakua is running: open (http:\/\/\S+)/): Promise<string> {
  await s.waitForOutput(banner, 'the start banner', timeoutMs);
  return banner.exec(s.output())![1]!;
}
