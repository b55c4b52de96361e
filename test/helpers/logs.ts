import type { Logger } from 'pino';
import { createLogger } from '../../src/logger.ts';

export interface RecordedLogs {
  logger: Logger;
  /** Every line written, as JSON text. */
  lines: string[];
  /** The entries logged with message `msg`, parsed. */
  entries(msg: string): Record<string, unknown>[];
}

/** A logger (debug level unless told) that keeps what it writes, so tests can wait for a line instead of for time. */
export function recordLogs(level = 'debug'): RecordedLogs {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void lines.push(line) } });
  return {
    logger,
    lines,
    entries: (msg) =>
      lines
        .filter((l) => l.includes(JSON.stringify(msg)))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((e) => e.msg === msg),
  };
}
