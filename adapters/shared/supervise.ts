import type { Logger } from 'pino';
import { PermanentAdapterError, type FaultReporter, type RunningAdapter } from '../../src/adapter.ts';
import { getAdapterStatus, setAdapterStatus, type AdapterStatus } from '../../src/adapterStatus.ts';
import { metrics } from '../../src/metrics.ts';
import { backoffDelay, realClock, type BackoffOptions, type Clock } from './backoff.ts';
import { describeError } from './redact.ts';
import { repeatLog } from './repeatLog.ts';

const NETWORK_CODES =
  /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE)\b(?:\s+([\w-]+(?:\.[\w-]+)+(?::\d+)?|\[[\da-f:]+\](?::\d+)?))?/gi;

/** A short reason for people: "ENOTFOUND api.telegram.org" for network errors, else the first line of the message. */
export function errorReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof Error ? String((err as { code?: unknown }).code ?? '') : '';
  const found = [...`${message} ${code}`.matchAll(NETWORK_CODES)];
  const net = found.find((m) => m[2]) ?? found[0];
  if (net) return net[2] ? `${net[1]} ${net[2]}` : net[1]!;
  const first = message.split('\n')[0]!.trim() || 'unknown error';
  return first.length > 160 ? `${first.slice(0, 157)}...` : first;
}

/** The reporter of an adapter started without a supervisor (tests, scripts): faults are only logged. */
export function standaloneFaults(logger: Logger): FaultReporter {
  const log = repeatLog(logger);
  return {
    fault: (err) => log.note('error', `fault\u0000${errorReason(err)}`, { err: describeError(err, String) }, 'adapter failed (no supervisor to restart it)'),
    warn: (err, msg, fields = {}) => log.note('warn', `${msg}\u0000${errorReason(err)}`, { ...fields, err: describeError(err, String) }, msg),
  };
}

export interface SuperviseOptions {
  name: string;
  logger: Logger;
  /** Starts the adapter once; rejects when it cannot start. `faults` reports trouble once it runs. */
  start(faults: FaultReporter): Promise<{ stop(): Promise<void> }>;
  /** Delay before each new attempt: capped exponential with jitter (1 s doubling up to 60 s by default). */
  backoff?: BackoffOptions;
  /** An adapter that ran this long before failing starts the backoff over. */
  stableMs?: number;
  /** How long stop() waits for a start in progress or a stop that hangs. */
  stopTimeoutMs?: number;
  /** What the backoff waits on; the real clock unless a test passes a virtual one. */
  clock?: Clock;
}

export interface SupervisedAdapter extends RunningAdapter {
  status(): AdapterStatus;
  /** Resolves once the first attempt has settled (running, retrying or failed), or after `timeoutMs` (then: starting). */
  settled(timeoutMs: number): Promise<AdapterStatus>;
  /** A failure found outside the adapter (an uncaught error from its SDK): restart it. */
  fault(err: unknown): void;
}

/**
 * A fault boundary around one adapter: its start-up failures and the faults it reports lead to a restart after a
 * capped exponential backoff; a PermanentAdapterError (a rejected token) stops the retries and shows the adapter as
 * failed. Every change is published with setAdapterStatus and logged once per distinct error, with a repeat count.
 */
export function supervise(opts: SuperviseOptions): SupervisedAdapter {
  const { name, stableMs = 60_000, stopTimeoutMs = 10_000, clock = realClock } = opts;
  const backoff = opts.backoff ?? { initialMs: 1000, maxMs: 60_000 };
  const logger = opts.logger.child({ adapter: name });
  const log = repeatLog(logger);
  const stopping = new AbortController();
  let generation = 0;
  let failures = 0;
  let onFault: (err: unknown) => void = () => {};
  let firstSettled: (s: AdapterStatus) => void = () => {};
  const first = new Promise<AdapterStatus>((resolve) => (firstSettled = resolve));
  const publish = (s: Parameters<typeof setAdapterStatus>[1]) => {
    setAdapterStatus(name, s);
    if (s.state !== 'starting') firstSettled(getAdapterStatus(name)!);
  };

  const reporterFor = (gen: number): FaultReporter => ({
    fault(err) {
      if (gen === generation) onFault(err);
    },
    warn(err, msg, fields = {}) {
      log.note('warn', `${msg}\u0000${errorReason(err)}`, { ...fields, err: describeError(err, String) }, msg);
    },
  });

  const stopQuietly = async (instance: { stop(): Promise<void> }) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, stopTimeoutMs)));
    await Promise.race([
      instance.stop().catch((err: unknown) => logger.debug({ err: describeError(err, String) }, 'stopping a failed adapter failed')),
      timeout,
    ]);
    clearTimeout(timer);
  };

  const loop = async () => {
    let lastError: string | undefined;
    while (!stopping.signal.aborted) {
      const gen = ++generation;
      let faulted: unknown;
      const fault = new Promise<unknown>((resolve) => {
        onFault = (err) => {
          faulted ??= err ?? new Error('adapter fault');
          resolve(faulted);
        };
      });
      publish(lastError === undefined ? { state: 'starting' } : { state: 'retrying', lastError });
      const startedAt = clock.now();
      let phase = 'start';
      try {
        const instance = await opts.start(reporterFor(gen));
        try {
          if (stopping.signal.aborted) return;
          if (faulted === undefined) {
            publish({ state: 'running', lastError });
            // The backoff only starts over once a run has lasted stableMs (below): an adapter that comes up and fails
            // at once, again and again, must not be restarted every second.
            if (failures > 0) log.note('info', 'running again', { after: failures }, `${name}: running again`);
          }
          phase = 'run';
          const err = await fault;
          if (stopping.signal.aborted) return;
          throw err;
        } finally {
          await stopQuietly(instance);
        }
      } catch (err) {
        if (stopping.signal.aborted) return;
        lastError = errorReason(err);
        const fields = { err: describeError(err, String) };
        if (err instanceof PermanentAdapterError) {
          publish({ state: 'failed', lastError });
          logger.error(fields, `${name}: failed, not retrying (${lastError})`);
          return;
        }
        if (clock.now() - startedAt > stableMs) failures = 0;
        const waitMs = backoffDelay(failures++, backoff);
        publish({ state: 'retrying', lastError, nextTryAt: Date.now() + waitMs });
        metrics.adapterRestarts.inc({ adapter: name });
        const what = phase === 'start' ? 'could not start' : 'stopped working';
        log.note(
          'warn',
          `${phase}\u0000${lastError}`,
          { ...fields, retryInMs: waitMs },
          `${name}: ${what} (${lastError}), next try in ${Math.ceil(waitMs / 1000)} s`,
        );
        await clock.pause(waitMs, stopping.signal);
      }
    }
  };
  const done = loop().catch((err: unknown) => logger.error({ err: describeError(err, String) }, `${name}: supervisor failed`));

  return {
    name,
    status: () => getAdapterStatus(name) ?? { state: 'starting', since: Date.now() },
    async settled(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([first, late]);
      clearTimeout(timer);
      return getAdapterStatus(name)!;
    },
    fault(err) {
      if (stopping.signal.aborted) {
        logger.debug({ err: describeError(err, String) }, `${name}: error while stopping`);
        return;
      }
      reporterFor(generation).warn(err, `${name}: uncaught error from its library`);
      onFault(err);
    },
    async stop() {
      stopping.abort();
      onFault(new Error('stopping'));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, stopTimeoutMs * 2)))]);
      clearTimeout(timer);
    },
  };
}
