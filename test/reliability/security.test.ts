import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createCore } from '../../src/core.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { pingRedis } from '../../src/redis.ts';
import { startFakeDiscord, type FakeDiscordMessage } from '../fakes/discord.ts';
import { startFakeTelegram, type FakeMessage } from '../fakes/telegram.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { freePort, startRedis } from '../helpers/redis.ts';
import { collect, message, silentLogger, waitFor } from '../service/support.ts';
import { spawnKuakua } from '../helpers/cli.ts';
import { configFile, startTlsRedis, startWorkerProcess, tempDir } from './support.ts';

const exec = promisify(execFile);
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('secrets never reach the logs', () => {
  it('web API, worker, Telegram, Discord, WeChat and `kuakua praise`, all at debug level, print no token, password or Redis password', async () => {
    const tag = randomBytes(6).toString('hex');
    const redisPassword = `r3dis-pw-${tag}`;
    const redis = await startRedis({ password: redisPassword });
    cleanups.push(() => redis.close());
    const telegram = await startFakeTelegram({ token: `7654321:AAH-tg-secret-${tag}` });
    cleanups.push(() => telegram.close());
    const discord = await startFakeDiscord({ token: `MTIz.dc-secret-${tag}` });
    cleanups.push(() => discord.close());
    const apiToken = `api-secret-${tag}`;
    const operatorToken = `operator-secret-${tag}`;
    const puppetToken = `puppet-secret-${tag}`;
    const port = await freePort();
    const modelDir = await makeRandomModel();
    const { path } = configFile(redis.url, {
      instance: { id: 'rel-secrets' },
      // Not loopback: the API then needs the bearer token.
      http: { host: '0.0.0.0', port },
      cooldown: { userSeconds: 0 },
      worker: { heartbeatSeconds: 1 },
      model: { dir: modelDir, variant: 'fp32', threads: 1, candidates: 1, maxNewTokens: 8 },
      wechat: { memoryDir: tempDir() },
    });
    const env = {
      REDIS_URL: redis.url,
      KUAKUA_CONFIG: path,
      KUAKUA_LOG_LEVEL: 'debug',
      KUAKUA_API_TOKEN: apiToken,
      KUAKUA_OPERATOR_TOKEN: operatorToken,
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      DISCORD_TOKEN: discord.token,
      DISCORD_API_ROOT: discord.apiRoot,
      WECHATY_PUPPET: 'wechaty-puppet-mock',
      WECHATY_PUPPET_SERVICE_TOKEN: puppetToken,
    };

    const worker = await startWorkerProcess(redis.url, path, env);
    cleanups.push(() => worker.stop());
    const bot = spawnKuakua(['bot'], env);
    cleanups.push(() => bot.stop());
    await bot.waitForOutput(/kuakua bot: .*adapters: web, telegram, discord, wechat/, 'the bot with every adapter', 90_000);

    // Use every entry point once, including refused requests, so their debug and warning lines are in the logs too.
    const api = `http://127.0.0.1:${port}/api/praise`;
    const post = (headers: Record<string, string>) =>
      fetch(api, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ text: '求夸 我守住了秘密' }) });
    expect((await post({ authorization: `Bearer ${apiToken}` })).status).toBe(200);
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: `Bearer ${apiToken}x` })).status).toBe(401);
    expect((await post({ authorization: `Bearer ${operatorToken}` })).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { authorization: `Bearer ${operatorToken}` } })).status).toBe(200);
    const tg: FakeMessage = telegram.userMessage({ chat: { id: -77, type: 'supergroup' }, from: { id: 9, is_bot: false, first_name: 'a' }, text: '求夸 秘密' });
    await waitFor(() => telegram.sent.some((s) => s.reply_parameters?.message_id === tg.message_id), 'the Telegram reply', 30_000);
    const dc: FakeDiscordMessage = discord.userMessage({ author: discord.user('b'), content: '求夸 秘密' });
    await waitFor(() => discord.posted.some((p) => p.message_reference?.message_id === dc.id), 'the Discord reply', 30_000);
    const cli = await exec(process.execPath, [join(PROJECT_ROOT, 'bin/kuakua.mjs'), 'praise', '求夸', '--model', modelDir, '--variant', 'fp32'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
    });
    expect(cli.stdout.trim().length).toBeGreaterThan(0);
    expect(await bot.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);

    const logs = [bot.output(), worker.output(), cli.stdout, cli.stderr].join('\n');
    // The logs are really at debug level and really cover the adapters.
    expect(logs).toContain('"level":20');
    for (const line of ['telegram adapter started', 'discord adapter started', 'wechat adapter started', 'worker ready', 'praise generated'])
      expect(logs).toContain(line);
    const secrets = [
      redisPassword,
      apiToken,
      operatorToken,
      puppetToken,
      telegram.token,
      telegram.token.split(':')[1]!,
      discord.token,
      `dc-secret-${tag}`,
      redis.url,
    ];
    for (const secret of secrets) expect(logs, `a log line contains ${secret}`).not.toContain(secret);
    expect(logs).not.toContain(tag);
  }, 180_000);
});

describe('Redis with a password over TLS (rediss://)', () => {
  it('a bot core and a `kuakua worker` process answer a request through rediss:// with a private CA (REDIS_TLS_CA)', async () => {
    const redis = await startTlsRedis(`tls-pw-${randomBytes(4).toString('hex')}`);
    cleanups.push(() => redis.close());
    const { path, config } = configFile(redis.url, {
      worker: { heartbeatSeconds: 1 },
      model: { dir: await makeRandomModel(), variant: 'fp32', threads: 1, candidates: 1, maxNewTokens: 8 },
    });
    const worker = await startWorkerProcess(redis.url, path, { REDIS_TLS_CA: redis.caFile });
    cleanups.push(() => worker.stop());
    process.env.REDIS_TLS_CA = redis.caFile;
    cleanups.push(async () => delete process.env.REDIS_TLS_CA);
    const bot = await createCore({ config, logger: silentLogger, instanceId: 'rel-tls' });
    cleanups.push(() => bot.close());
    const got = collect(bot);
    expect(await bot.status()).toMatchObject({ redis: true, workers: 1 });
    await bot.handle(message());
    await waitFor(() => got.length === 1, 'the answer over TLS', 30_000);
    expect(worker.output()).not.toContain(redis.url);
  }, 90_000);

  it('without the CA the certificate is refused, and a missing CA file is a clear error naming REDIS_TLS_CA', async () => {
    const redis = await startTlsRedis('tls-pw');
    cleanups.push(() => redis.close());
    expect(await pingRedis(redis.url, 1000, {})).toBe(false);
    expect(await pingRedis(redis.url, 1000, { REDIS_TLS_CA: redis.caFile })).toBe(true);
    const missing = spawnKuakua(['worker'], { REDIS_URL: redis.url, REDIS_TLS_CA: '/nonexistent/ca.pem' });
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toContain('REDIS_TLS_CA = /nonexistent/ca.pem: cannot read the CA certificate (ENOENT)');
    expect(missing.output()).not.toContain('tls-pw');
  }, 60_000);
});
