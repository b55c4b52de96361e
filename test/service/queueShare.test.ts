import { describe, expect, it } from 'vitest';
import { queueLimit } from '../../src/limits.ts';
import { message, testConfig, useServiceFixture } from './support.ts';

// No worker runs here: every queued request stays in the queue.
const fx = useServiceFixture();
const web = () => message({ platform: 'web', isPrivate: true, chatId: `web-${Math.random()}`, userId: `anon-${Math.random()}` });

describe('each platform queues into its share of queue.maxDepth', () => {
  it('a web flood fills only the web share: a QQ message is still queued, and only a full queue answers it busy', async () => {
    const config = testConfig(fx.redis.url, { queue: { maxDepth: 4, onFull: 'busy', shareByPlatform: { web: 0.5 } } });
    const core = await fx.core(config);
    expect(await core.handle(web())).toMatchObject({ action: 'queued' });
    expect(await core.handle(web())).toMatchObject({ action: 'queued' });
    expect(await core.handle(web())).toMatchObject({ action: 'replied', delivery: { kind: 'busy' } });

    const qq = () => message({ platform: 'qq' });
    expect(await core.handle(qq())).toMatchObject({ action: 'queued' });
    expect(await core.handle(qq())).toMatchObject({ action: 'queued' });
    expect(await core.handle(qq())).toMatchObject({ action: 'replied', delivery: { kind: 'busy' } });
    expect((await core.status()).queueDepth).toBe(4);
  });

  it('by default the web may fill half the queue and every other platform all of it', () => {
    const { queue } = testConfig(fx.redis.url, { queue: { maxDepth: 200 } });
    expect(queueLimit(queue, 'web')).toBe(100);
    for (const platform of ['telegram', 'discord', 'wechat', 'qq', 'feishu', 'dingtalk'] as const) expect(queueLimit(queue, platform)).toBe(200);
    // A share never rounds down to nothing.
    expect(queueLimit({ maxDepth: 1, shareByPlatform: { web: 0.5 } }, 'web')).toBe(1);
  });

  it('rejects a share outside (0, 1] naming the key', () => {
    expect(() => testConfig(fx.redis.url, { queue: { shareByPlatform: { web: 0 } } })).toThrow(/queue\.shareByPlatform\.web/);
    expect(() => testConfig(fx.redis.url, { queue: { shareByPlatform: { web: 1.5 } } })).toThrow(/queue\.shareByPlatform\.web/);
  });
});
