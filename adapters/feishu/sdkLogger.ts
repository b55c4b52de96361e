import type { Logger as LarkLogger } from '@larksuiteoapi/node-sdk';
import type { Logger } from 'pino';
import { repeatLog } from '../shared/repeatLog.ts';

const MAX_LINE = 500;

/** One readable piece of an SDK log call: never a whole error or request dump (those carry the request body and headers). */
function describe(item: unknown): string {
  if (typeof item === 'string') return item;
  if (item instanceof Error) {
    const status = (item as { response?: { status?: unknown } }).response?.status;
    return `${item.name}: ${item.message}${status ? ` (HTTP ${String(status)})` : ''}`;
  }
  if (item && typeof item === 'object') {
    // The SDK's formatErrors() gives [{ message, config, request, response }, { code, msg, … }]: the message and the
    // platform's code and msg are what matter; config holds the request body.
    const o = item as { message?: unknown; code?: unknown; msg?: unknown };
    const found = [o.message, o.code !== undefined ? `code ${String(o.code)}` : undefined, o.msg].filter((p) => typeof p === 'string');
    return found.length > 0 ? found.join(' ') : '[object]';
  }
  return String(item);
}

/**
 * The SDK's logger, routed into ours: its errors and warnings (a dropped connection it retries, a failed request) are
 * warnings here, logged once per distinct text with a repeat count; its info lines are debug. Everything is redacted.
 * Create SDK objects with `loggerLevel: info`: its debug lines carry whole events and the connection URL with its ticket.
 */
export function sdkLogger(logger: Logger, redact: (text: string) => string): LarkLogger {
  const log = repeatLog(logger);
  // The SDK's LoggerProxy passes its arguments as one array.
  const line = (args: unknown[]) => redact(args.flat(2).map(describe).join(' ')).slice(0, MAX_LINE);
  const problem = (...args: unknown[]) => {
    const text = line(args);
    log.note('warn', `sdk\u0000${text}`, {}, `feishu sdk: ${text}`);
  };
  const detail = (...args: unknown[]) => logger.debug(`feishu sdk: ${line(args)}`);
  return { error: problem, warn: problem, info: detail, debug: detail, trace: detail };
}
