import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './model.ts';

const SECRET_VARS = ['TELEGRAM_BOT_TOKEN', 'DISCORD_TOKEN', 'WECHATY_PUPPET', 'WECHATY_PUPPET_SERVICE_TOKEN', 'KUAKUA_API_TOKEN', 'REDIS_URL', 'KUAKUA_CONFIG'];

export interface Started {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** SIGKILL if still running, then wait for the exit. */
  kill(): Promise<void>;
}

/** `npm start` as a user runs it (`node --import tsx src/cli.ts start` in the repository root), with only `env` set on top of a clean environment. */
export function spawnStart(env: Record<string, string>): Started {
  return spawnCli('start', env);
}

/** `npx kuakua <command>` the same way. */
export function spawnCli(command: string, env: Record<string, string>): Started {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SECRET_VARS.includes(k) && !k.startsWith('KUAKUA_') && !k.startsWith('TELEGRAM_') && !k.startsWith('DISCORD_')));
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', command], { cwd: REPO_ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    output: () => out,
    exited,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Resolves with the page URL from the start banner; fails with the output when the process exits or stays silent. */
export async function waitForBanner(s: Started, timeoutMs = 90_000, banner = /kuakua is running: open (http:\/\/\S+)/): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const m = banner.exec(s.output());
    if (m) return m[1]!;
    if (s.proc.exitCode !== null) throw new Error(`the process exited with ${s.proc.exitCode}:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no banner within ${timeoutMs} ms:\n${s.output()}`);
}
