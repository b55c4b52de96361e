import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDiscordAdapter } from '../../adapters/discord/index.ts';
import { errorReason, supervise, type SupervisedAdapter, type SuperviseOptions } from '../../adapters/shared/supervise.ts';
import { startTelegramAdapter } from '../../adapters/telegram/index.ts';
import { startWechatAdapter } from '../../adapters/wechat/index.ts';
import { describeAdapterStatus } from '../../src/adapterStatus.ts';
import { metrics, registry } from '../../src/metrics.ts';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord.ts';
import { startFakeTelegram } from '../fakes/telegram.ts';
import { freePort } from '../helpers/redis.ts';
import { waitFor } from '../service/support.ts';
import { startStack, type Stack } from './stack.ts';

/** Fast backoff so that several retries fit in a test; the shipped one starts at 1 s and doubles up to 60 s. */
const FAST = { initialMs: 100, maxMs: 400 };
const TELEGRAM_TOKEN = '123456:TEST-fault-telegram-token';

let stack: Stack;
let memoryDir: string;
const running: SupervisedAdapter[] = [];
const fakes: { close(): Promise<void> }[] = [];

function run(name: string, start: SuperviseOptions['start']): SupervisedAdapter {
  const adapter = supervise({ name, logger: stack.logger, backoff: FAST, start });
  running.push(adapter);
  return adapter;
}

async function restarts(name: string): Promise<number> {
  return (await metrics.adapterRestarts.get()).values.find((v) => v.labels.adapter === name)?.value ?? 0;
}

const linesWith = (text: string) => stack.logs.filter((l) => l.includes(text));

beforeAll(async () => {
  stack = await startStack({ rateLimit: { chatPerMinute: 0 } });
  memoryDir = mkdtempSync(join(tmpdir(), 'kuakua-faults-'));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

afterAll(async () => {
  await stack?.close();
  if (memoryDir) rmSync(memoryDir, { recursive: true, force: true });
});

describe('each adapter runs in a fault boundary: network failures are retried with backoff, a rejected token is final', () => {
  it('telegram: a Bot API that refuses connections at boot is retried and shown as retrying; once it is up, the adapter runs and answers', async () => {
    const port = await freePort();
    const before = await restarts('telegram');
    const adapter = run('telegram', (faults) =>
      startTelegramAdapter({ core: stack.core, logger: stack.logger, faults, token: TELEGRAM_TOKEN, apiRoot: `http://127.0.0.1:${port}` }),
    );

    const first = await adapter.settled(10_000);
    expect(first).toMatchObject({ state: 'retrying', lastError: `ECONNREFUSED 127.0.0.1:${port}` });
    expect(describeAdapterStatus('telegram', first)).toMatch(new RegExp(`^telegram: retrying \\(ECONNREFUSED 127\\.0\\.0\\.1:${port}\\), next try in \\d+ s$`));
    await waitFor(async () => (await restarts('telegram')) - before >= 5, 'five failed attempts');
    // One line per distinct error, repeated only at the 2nd, 4th, 8th, … time, with the count.
    const failures = (await restarts('telegram')) - before;
    const lines = linesWith('telegram: could not start');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.length).toBeLessThanOrEqual(Math.floor(Math.log2(failures)) + 1);
    expect(lines[1]).toContain('(2 times so far)');
    expect(lines.join('\n')).not.toContain(TELEGRAM_TOKEN.split(':')[1]);

    const fake = await startFakeTelegram({ port, token: TELEGRAM_TOKEN });
    fakes.push(fake);
    await waitFor(() => adapter.status().state === 'running' || undefined, 'the adapter to run', 15_000);
    expect(await registry.getSingleMetricAsString('kuakua_adapter_state')).toContain('kuakua_adapter_state{adapter="telegram",state="running"} 1');
    expect(linesWith('telegram: running again')).toHaveLength(1);
    const asker = { id: 901, is_bot: false, first_name: 'Ann' };
    const m = fake.userMessage({ chat: { id: asker.id, type: 'private' }, from: asker, text: '求夸 网络好了' });
    await waitFor(() => fake.sent.find((s) => s.reply_parameters?.message_id === m.message_id), 'the reply after recovery');
  });

  it('telegram: a host that does not resolve (ENOTFOUND) is named in the status', async () => {
    const adapter = run('telegram', (faults) =>
      startTelegramAdapter({ core: stack.core, logger: stack.logger, faults, token: TELEGRAM_TOKEN, apiRoot: 'http://api.telegram.invalid' }),
    );
    const status = await adapter.settled(30_000);
    expect(status).toMatchObject({ state: 'retrying', lastError: expect.stringMatching(/^(ENOTFOUND|EAI_AGAIN) api\.telegram\.invalid$/) });
  });

  it('telegram: a rejected token is not retried; the adapter shows as failed with the reason', async () => {
    const fake = await startFakeTelegram({ token: TELEGRAM_TOKEN });
    fakes.push(fake);
    const before = await restarts('telegram');
    const adapter = run('telegram', (faults) =>
      startTelegramAdapter({ core: stack.core, logger: stack.logger, faults, token: '999:wrong-token', apiRoot: fake.apiRoot }),
    );
    expect(await adapter.settled(10_000)).toMatchObject({ state: 'failed', lastError: 'Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)' });
    // 'failed' is final: the supervisor has returned without scheduling another attempt.
    expect(await restarts('telegram')).toBe(before);
    expect(linesWith('telegram: failed, not retrying')).toHaveLength(1);
  });

  it('telegram: a listener that throws on an odd update is logged once per distinct error with a count, and the adapter goes on', async () => {
    const fake = await startFakeTelegram({ token: TELEGRAM_TOKEN });
    fakes.push(fake);
    const adapter = run('telegram', (faults) =>
      startTelegramAdapter({ core: stack.core, logger: stack.logger, faults, token: TELEGRAM_TOKEN, apiRoot: fake.apiRoot }),
    );
    expect((await adapter.settled(10_000)).state).toBe('running');
    const before = linesWith('update handler failed').length;
    const chat = { id: -100999, type: 'supergroup' as const };
    // A text_mention entity without its user: reading the mention throws inside the message listener.
    for (let i = 0; i < 4; i++) {
      fake.userMessage({
        chat,
        from: { id: 300 + i, is_bot: false, first_name: 'Odd' },
        text: `Kuakua 求夸 ${i}`,
        entities: [{ type: 'text_mention', offset: 0, length: 6 }],
      });
    }
    await waitFor(() => linesWith('update handler failed (4 times so far)').length > 0 || undefined, 'the fourth failure to be counted');
    const lines = linesWith('update handler failed').slice(before);
    expect(lines).toHaveLength(3); // 1st, 2nd and 4th
    expect(lines[0]).toContain("Cannot read properties of undefined (reading 'id')");
    const m = fake.userMessage({ chat, from: { id: 399, is_bot: false, first_name: 'Ann' }, text: '求夸 我还在' });
    await waitFor(() => fake.sent.find((s) => s.reply_parameters?.message_id === m.message_id), 'the reply after the odd updates');
    expect(adapter.status().state).toBe('running');
  });

  it('discord: a REST API that refuses connections at boot is retried; once it is up, the adapter runs', async () => {
    const port = await freePort();
    const token = 'MTIz.fault-discord.0123456789abcdef';
    const adapter = run('discord', (faults) =>
      startDiscordAdapter({ core: stack.core, logger: stack.logger, faults, token, apiRoot: `http://127.0.0.1:${port}/api` }),
    );
    expect(await adapter.settled(10_000)).toMatchObject({ state: 'retrying', lastError: `ECONNREFUSED 127.0.0.1:${port}` });
    const fake: FakeDiscord = await startFakeDiscord({ port, token });
    fakes.push(fake);
    await waitFor(() => adapter.status().state === 'running' || undefined, 'the adapter to run', 20_000);
    await waitFor(() => fake.ready() || undefined, 'a gateway session');
  });

  it('discord: a rejected token is final', async () => {
    const fake = await startFakeDiscord();
    fakes.push(fake);
    const adapter = run('discord', (faults) =>
      startDiscordAdapter({ core: stack.core, logger: stack.logger, faults, token: 'wrong-token-value', apiRoot: fake.apiRoot }),
    );
    expect(await adapter.settled(10_000)).toMatchObject({ state: 'failed', lastError: 'Discord rejected DISCORD_TOKEN (401)' });
  });

  it('wechat: wechaty-puppet-service with a token and no reachable discovery service retries, with no crash and nothing on the console', async () => {
    // Without the resolver fix this ends the test process: "this.listener.onError is not a function" from
    // WechatyResolver.reportResolutionError, in a promise nobody awaits.
    const port = await freePort();
    vi.stubEnv('WECHATY_PUPPET_SERVICE_AUTHORITY', `127.0.0.1:${port}`);
    const consoleCalls = (['log', 'info', 'warn', 'error'] as const).map((m) => vi.spyOn(console, m));
    const adapter = run('wechat', (faults) =>
      startWechatAdapter({
        core: stack.core,
        logger: stack.logger,
        faults,
        puppet: 'wechaty-puppet-service',
        puppetToken: 'puppet_padlocal_fake',
        name: 'svc',
        memoryDir,
        printQr: false,
      }),
    );
    expect(await adapter.settled(30_000)).toMatchObject({ state: 'retrying', lastError: `ECONNREFUSED 127.0.0.1:${port}` });
    const before = await restarts('wechat');
    await waitFor(async () => (await restarts('wechat')) > before || undefined, 'a second failed attempt', 40_000);
    expect(consoleCalls.flatMap((spy) => spy.mock.calls)).toEqual([]);
    expect(stack.logs.join('\n')).not.toContain('onError is not a function');
    expect(stack.logs.join('\n')).not.toContain('puppet_padlocal_fake');
  });

  it('wechat: a service token the puppet refuses outright (no SNI prefix) is final', async () => {
    const adapter = run('wechat', (faults) =>
      startWechatAdapter({
        core: stack.core,
        logger: stack.logger,
        faults,
        puppet: 'wechaty-puppet-service',
        puppetToken: 'x',
        name: 'sni',
        memoryDir,
        printQr: false,
      }),
    );
    const status = await adapter.settled(30_000);
    expect(status).toMatchObject({ state: 'failed', lastError: expect.stringMatching(/^WECHATY_PUPPET_SERVICE_TOKEN has no SNI prefix/) });
  });

  it('wechat: stopping during a failing wechat4u login is clean (no uncaught error, no stray process listener)', async () => {
    // Every wechat4u request goes to a proxy that refuses: the login fails at once, whatever network this machine has.
    const port = await freePort();
    vi.stubEnv('HTTPS_PROXY', `http://127.0.0.1:${port}`);
    vi.stubEnv('HTTP_PROXY', `http://127.0.0.1:${port}`);
    vi.stubEnv('NO_PROXY', '');
    const listenersBefore = process.listeners('uncaughtException').length;
    const consoleCalls = (['log', 'error'] as const).map((m) => vi.spyOn(console, m));
    const adapter = run('wechat', (faults) =>
      startWechatAdapter({ core: stack.core, logger: stack.logger, faults, puppet: 'wechaty-puppet-wechat4u', name: 'w4u', memoryDir, printQr: false }),
    );
    await waitFor(() => adapter.status().state === 'retrying' || undefined, 'the first failed login', 30_000);
    expect(adapter.status()).toMatchObject({ lastError: expect.stringContaining(`127.0.0.1:${port}`) });
    // The next attempt (a retry under way has no next try time): stop while its login is failing.
    await waitFor(
      () => {
        const s = adapter.status();
        return s.state !== 'retrying' || s.nextTryAt === undefined || undefined;
      },
      'the next attempt',
      10_000,
    );
    running.splice(running.indexOf(adapter), 1);
    await adapter.stop();
    expect(process.listeners('uncaughtException')).toHaveLength(listenersBefore);
    expect(
      consoleCalls
        .flatMap((spy) => spy.mock.calls)
        .map(String)
        .join('\n'),
    ).not.toMatch(/uncaughtException|reading 'start'/);
  });
});

describe('errorReason', () => {
  it.each([
    [
      'Telegram getMe failed: request to http://127.0.0.1:5/bot[REDACTED]/getMe failed, reason: getaddrinfo ENOTFOUND api.telegram.org',
      'ENOTFOUND api.telegram.org',
    ],
    ['Discord login failed: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED 127.0.0.1:1'],
    ['14 UNAVAILABLE: Wechaty service discovery failed for wechaty://api.chatie.io/[token]: getaddrinfo EAI_AGAIN api.chatie.io', 'EAI_AGAIN api.chatie.io'],
    ['Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)', 'Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)'],
    ['first line\n    at somewhere (file.js:1:1)', 'first line'],
  ])('%s → %s', (message, reason) => {
    expect(errorReason(new Error(message))).toBe(reason);
  });
});
