import { describe, expect, it } from 'vitest';
import { withTimeout } from '../../src/timeout.ts';

describe('withTimeout', () => {
  it('passes on the value or the error of a promise that settles in time', async () => {
    expect(await withTimeout(Promise.resolve(7), 50)).toBe(7);
    await expect(withTimeout(Promise.reject(new Error('boom')), 50)).rejects.toThrow('boom');
  });

  it('rejects once the time is up, naming it', async () => {
    await expect(withTimeout(new Promise(() => {}), 20)).rejects.toThrow('no answer within 20 ms');
  });
});
