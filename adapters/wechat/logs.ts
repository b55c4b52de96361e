import { log as brolog } from 'brolog';
import type { Logger } from 'pino';
import { log as wechatyLog } from 'wechaty';

let target: Logger | undefined;

/**
 * Wechaty, its puppets and their helpers (state-switch, wechaty-token, memory-card) print through two brolog instances
 * straight to the console, as timestamped text outside the log. Their lines go into pino at debug level instead: what
 * matters to an operator (a puppet error, a failed login) also arrives as a Wechaty 'error' event, which the adapter
 * logs once per distinct error. `KUAKUA_LOG_LEVEL=debug` shows everything.
 */
export function routeWechatyLogs(logger: Logger): void {
  const first = target === undefined;
  target = logger.child({ component: 'wechaty' });
  if (!first) return;
  const print = (level: string, text?: string) => void target?.debug({ wechatyLevel: level.trim() }, text ?? '');
  for (const instance of new Set([wechatyLog, brolog])) instance.enableLogging(print);
}
