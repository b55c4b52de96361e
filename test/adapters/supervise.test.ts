import { describe, expect, it } from 'vitest';
import { supervise } from '../../adapters/shared/supervise.ts';
import { PermanentAdapterError } from '../../src/adapter.ts';
import { describeAdapterStatus } from '../../src/adapterStatus.ts';
import { createLogger } from '../../src/logger.ts';
import { virtualClock } from '../helpers/clock.ts';
import { waitFor } from '../service/support.ts';

function logs() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });
  return { lines, logger };
}

describe('supervise: the fault boundary around one adapter', () => {
  it('an adapter that comes up and fails at once, again and again, is restarted with a growing backoff, not every moment', async () => {
    const { lines, logger } = logs();
    const startedAt: number[] = [];
    const adapter = supervise({
      name: 'flaky',
      logger,
      backoff: { initialMs: 100, maxMs: 400 },
      start: async (faults) => {
        startedAt.push(performance.now());
        setImmediate(() => faults.fault(new Error('getaddrinfo ENOTFOUND login.example.com')));
        return { stop: async () => {} };
      },
    });
    try {
      await waitFor(() => startedAt.length >= 6 || undefined, 'six starts', 20_000);
    } finally {
      await adapter.stop();
    }
    // The real time between tries, not what was logged: the wait before try n+1 has a ceiling of min(400, 100 * 2^n)
    // ms, and with jitter it lasts at least half of that (1 ms less for the timer's rounding).
    const gaps = startedAt.slice(1, 6).map((t, i) => t - startedAt[i]!);
    for (const [n, gap] of gaps.entries()) expect(gap, `wait ${n}`).toBeGreaterThanOrEqual(Math.min(400, 100 * 2 ** n) / 2 - 1);
    const retries = lines.filter((l) => String(l.msg).startsWith('flaky: stopped working (ENOTFOUND login.example.com)'));
    // Logged at the 1st, 2nd and 4th failure, with the count.
    expect(retries.map((l) => l.repeats ?? 1)).toEqual([1, 2, 4].slice(0, retries.length));
    expect(retries.length).toBeGreaterThanOrEqual(3);
    expect(lines.filter((l) => l.msg === 'flaky: running again').length).toBeLessThanOrEqual(3);
  });

  it('waits 1 s doubling to 60 s between tries by default, and starts over after a run of stableMs', async () => {
    const { logger } = logs();
    const clock = virtualClock();
    const triedAt: number[] = [];
    let stayUp = false;
    const adapter = supervise({
      name: 'unreachable',
      logger,
      clock,
      start: async () => {
        triedAt.push(clock.now());
        if (!stayUp) throw new Error('connect ECONNREFUSED 127.0.0.1:9');
        return { stop: async () => {} };
      },
    });
    const ceilings = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000];
    const asked: number[] = [];
    try {
      for (const [n, ceiling] of ceilings.entries()) {
        const wait = await clock.next();
        asked.push(wait.ms);
        expect(triedAt, 'no try before the wait is over').toHaveLength(n + 1);
        expect(wait.ms, `wait ${n}`).toBeGreaterThanOrEqual(ceiling / 2);
        expect(wait.ms, `wait ${n}`).toBeLessThanOrEqual(ceiling);
        if (n === ceilings.length - 1) stayUp = true;
        wait.release();
      }
      await waitFor(() => adapter.status().state === 'running' || undefined, 'the last try to come up');
      // Virtual time between tries: each try came exactly the wait the backoff asked for after the one before.
      expect(triedAt.slice(1).map((t, i) => t - triedAt[i]!)).toEqual(asked);

      // After a minute up, a fault is met with the shortest wait again.
      clock.advance(61_000);
      stayUp = false;
      adapter.fault(new Error('read ECONNRESET'));
      const again = await clock.next();
      expect(again.ms).toBeGreaterThanOrEqual(500);
      expect(again.ms).toBeLessThanOrEqual(1000);
    } finally {
      await adapter.stop();
    }
  });

  it('a try after a failure is shown as retrying, now, until it settles: the state does not flap back to starting', async () => {
    const { logger } = logs();
    let starts = 0;
    let comeUp: () => void = () => {};
    const adapter = supervise({
      name: 'patient',
      logger,
      backoff: { initialMs: 10, maxMs: 10 },
      start: async () => {
        starts++;
        if (starts === 1) throw new Error('connect ECONNREFUSED 127.0.0.1:9');
        await new Promise<void>((resolve) => (comeUp = resolve));
        return { stop: async () => {} };
      },
    });
    try {
      expect(await adapter.settled(5000)).toMatchObject({ state: 'retrying', lastError: 'ECONNREFUSED 127.0.0.1:9', nextTryAt: expect.any(Number) });
      expect(describeAdapterStatus('patient', adapter.status())).toMatch(/^patient: retrying \(ECONNREFUSED 127\.0\.0\.1:9\), next try in \d+ s$/);
      await waitFor(() => starts === 2 || undefined, 'the second try');
      expect(adapter.status()).toEqual({ state: 'retrying', lastError: 'ECONNREFUSED 127.0.0.1:9', since: expect.any(Number) });
      expect(describeAdapterStatus('patient', adapter.status())).toBe('patient: retrying (ECONNREFUSED 127.0.0.1:9), trying again now');
      comeUp();
      await waitFor(() => adapter.status().state === 'running' || undefined, 'the second try to come up');
    } finally {
      await adapter.stop();
    }
  });

  it('a PermanentAdapterError is not retried: failed, with the reason', async () => {
    const { lines, logger } = logs();
    let starts = 0;
    const adapter = supervise({
      name: 'locked',
      logger,
      start: async () => {
        starts++;
        throw new PermanentAdapterError('Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)');
      },
    });
    expect(await adapter.settled(5000)).toMatchObject({ state: 'failed', lastError: 'Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)' });
    await adapter.stop();
    expect(starts).toBe(1);
    expect(lines.filter((l) => l.level === 50)).toHaveLength(1);
  });

  it('stopping while a start is in progress waits for it and stops what it started', async () => {
    const { logger } = logs();
    let finishStart: () => void = () => {};
    let stopped = 0;
    const adapter = supervise({
      name: 'slow',
      logger,
      start: () => new Promise((resolve) => (finishStart = () => resolve({ stop: async () => void stopped++ }))),
    });
    const stopping = adapter.stop();
    finishStart();
    await stopping;
    expect(stopped).toBe(1);
  });
});
