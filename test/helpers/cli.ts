import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './model.ts';
import { waitFor } from './wait.ts';

// Variables a developer's shell may carry that would change what the spawned command does.
const INHERITED_OFF = /^(KUAKUA_|TELEGRAM_|DISCORD_|WECHATY_|REDIS_)/;

export interface KuakuaProcess {
  proc: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  alive(): boolean;
  /** Waits until the output contains text; fails at once if the process exits first. */
  waitForOutput(text: string | RegExp, what: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL if it has not exited after graceMs. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL if still running, then wait for the exit. */
  kill(): Promise<void>;
}

/**
 * `npx kuakua <args>` as a user runs it (`node bin/kuakua.mjs`, in the repository root unless `cwd` names another
 * folder), with only `env` on top of the environment minus kuakua's own variables, logging at info; stdout and stderr
 * captured together.
 */
export function spawnKuakua(args: string[], env: Record<string, string | undefined>, cwd = REPO_ROOT): KuakuaProcess {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !INHERITED_OFF.test(k)));
  const proc = spawn(process.execPath, [join(REPO_ROOT, 'bin/kuakua.mjs'), ...args], {
    cwd,
    // KUAKUA_ENV_FILE '': a developer's .env in the repository root must not change what a test runs.
    env: { ...base, KUAKUA_LOG_LEVEL: 'info', KUAKUA_ENV_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  return {
    proc,
    output: () => out,
    exited,
    alive,
    waitForOutput: (text, what, timeoutMs = 60_000) =>
      waitFor(
        () => {
          if (!alive()) throw new Error(`process exited while waiting for ${what}:\n${out.slice(-3000)}`);
          return typeof text === 'string' ? out.includes(text) : text.test(out);
        },
        what,
        timeoutMs,
      ).then(() => undefined),
    async stop(graceMs = 15_000) {
      if (!alive()) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (alive()) proc.kill('SIGKILL');
      await exited;
    },
  };
}
