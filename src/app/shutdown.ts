import type { Logger } from 'pino';

/**
 * Runs `stop` once on the first SIGINT/SIGTERM, then exits 0 (1 if stopping failed).
 * A second signal while stopping exits at once.
 */
export function exitOnSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Stops each part in order; a failing part is logged and the rest still stop. */
export async function stopAll(logger: Logger, parts: { name: string; stop(): Promise<void> }[]): Promise<void> {
  for (const part of parts) {
    try {
      await part.stop();
    } catch (err) {
      logger.error({ err, part: part.name }, 'failed to stop cleanly');
    }
  }
}
