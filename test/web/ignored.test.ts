import { describe, expect, it } from 'vitest';
import type { IgnoredReason } from '../../src/adapter.ts';
import { ignoredError } from '../../adapters/web/routes/praise.ts';

/** README's status table for POST /api/praise, per reason of the core's for not answering. */
const DOCUMENTED: Record<IgnoredReason, [status: number, error: string]> = {
  cooldown: [429, 'cooldown'],
  'rate-limited': [429, 'rate_limited'],
  busy: [503, 'busy'],
  'no-worker': [503, 'no_reply'],
  unavailable: [503, 'unavailable'],
  disabled: [422, 'ignored'],
  'no-trigger': [422, 'ignored'],
  'mention-required': [422, 'ignored'],
  'from-bot': [422, 'ignored'],
  invalid: [422, 'ignored'],
  duplicate: [422, 'ignored'],
  'distress-repeat': [422, 'ignored'],
};

describe('POST /api/praise when the core does not answer', () => {
  it.each(Object.entries(DOCUMENTED))('%s -> %j', (reason, [status, error]) => {
    const e = ignoredError(reason as IgnoredReason);
    expect([e.status, e.code]).toEqual([status, error]);
    // A client told to wait is told how long; one that cannot succeed by retrying is not.
    if (status === 422) expect(e.headers['retry-after']).toBeUndefined();
    else expect(Number(e.headers['retry-after'])).toBeGreaterThan(0);
    if (status === 422) expect(e.message).toContain(reason);
  });
});
