import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnKuakua, type KuakuaProcess } from '../helpers/cli.ts';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.ts';
import { waitForBanner } from '../helpers/spawnStart.ts';
import { waitFor } from '../service/support.ts';

/**
 * `kuakua bot` with a token for every platform and none of them reachable (each API root, and the WeChat puppet
 * service's discovery, point at ports that refuse), as on a machine without internet.
 */
/** `count` ports under 1024 that refuse a connection now; tests bind only ports the system hands out (above 1024). */
async function refusingPorts(count: number): Promise<number[]> {
  const refused: number[] = [];
  for (let port = 600; port < 1024 && refused.length < count; port++) {
    const refuses = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    if (refuses) refused.push(port);
  }
  if (refused.length < count) throw new Error(`only ${refused.length} ports under 1024 refuse connections here`);
  return refused;
}

describe('kuakua bot with every platform configured and no network', () => {
  let redis: TestRedis;
  let bot: KuakuaProcess | undefined;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await bot?.kill();
    bot = undefined;
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('stays up with the web page answering, shows each adapter retrying (summary, /healthz, /metrics), logs one line per retry at most, and stops cleanly', async () => {
    // Ports below the ephemeral range: no other test's fake server is ever given one, so they keep refusing.
    const [telegram, discord, wechat, qq, feishu, dingtalk] = await refusingPorts(6);
    const http = await freePort();
    bot = spawnKuakua(['bot'], {
      REDIS_URL: redis.url,
      KUAKUA_HTTP_PORT: String(http),
      TELEGRAM_BOT_TOKEN: '123456:offline-telegram-token',
      TELEGRAM_API_ROOT: `http://127.0.0.1:${telegram}`,
      DISCORD_TOKEN: 'MTIz.offline-discord.token',
      DISCORD_API_ROOT: `http://127.0.0.1:${discord}/api`,
      WECHATY_PUPPET_SERVICE_TOKEN: 'puppet_padlocal_offline',
      WECHATY_PUPPET_SERVICE_AUTHORITY: `127.0.0.1:${wechat}`,
      ONEBOT_WS_URL: `ws://127.0.0.1:${qq}`,
      ONEBOT_ACCESS_TOKEN: 'offline-onebot-token',
      FEISHU_APP_ID: 'cli_0123456789abcdef',
      FEISHU_APP_SECRET: 'offline-feishu-secret',
      FEISHU_DOMAIN: `http://127.0.0.1:${feishu}`,
      DINGTALK_CLIENT_ID: 'dingoffline',
      DINGTALK_CLIENT_SECRET: 'offline-dingtalk-secret',
      DINGTALK_GATEWAY_URL: `http://127.0.0.1:${dingtalk}/v1.0/gateway/connections/open`,
      KUAKUA_OPERATOR_TOKEN: 'offline-operator-token',
    });
    const platforms = ['telegram', 'discord', 'wechat', 'qq', 'feishu', 'dingtalk'];
    const url = await waitForBanner(bot, 90_000, /kuakua bot: (http:\/\/\S+)/);
    const out = bot.output();
    // The summary is printed once every adapter's first try has settled, so a quick one may be on its next try by then.
    const retrying = (name: string, port: number | undefined) =>
      `${name}: retrying \\(ECONNREFUSED 127\\.0\\.0\\.1:${port}\\), (next try in \\d+ s|trying again now)`;
    expect(out).toMatch(new RegExp(`\\n  ${retrying('telegram', telegram)}\\n`));
    expect(out).toMatch(new RegExp(`\\n  ${retrying('discord', discord)}\\n`));
    // Wechaty and its puppet-service client take seconds to load before the first attempt can fail; on a loaded machine
    // that outlasts the summary's wait, which then truthfully says "starting". /healthz below must say retrying.
    expect(out).toMatch(new RegExp(`\\n  (${retrying('wechat', wechat)}|wechat: starting)\\n`));
    // And no worker runs on this Redis: said at start, and the web answers at once instead of after queue.timeoutMs.
    expect(out).toContain(
      '\n  no worker online: start one with `npx kuakua worker` on the same Redis (until then web requests get queue.onTimeout, fallback, at once)',
    );
    const praise = await fetch(`${url}api/praise`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"求夸 没有网也要夸"}' });
    expect(praise.status).toBe(200);
    expect((await praise.json()).kind).toBe('fallback');
    // The core answered it by itself, instead of queueing it for the timeout to answer.
    expect(await (await fetch(`${url}metrics`)).text()).toMatch(/^kuakua_requests_total\{platform="web",outcome="replied:fallback"\} 1$/m);

    // Let every adapter fail a few more times while the web side keeps working.
    const restarts = async () => {
      const text = await (await fetch(`${url}metrics`)).text();
      return Object.fromEntries([...text.matchAll(/^kuakua_adapter_restarts_total\{adapter="(\w+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]));
    };
    const counts = await waitFor(
      async () => {
        const r = await restarts();
        return platforms.every((a) => (r[a] ?? 0) >= 3) ? r : undefined;
      },
      'three failed attempts per adapter',
      90_000,
    );
    expect(bot.alive()).toBe(true);
    expect((await fetch(url)).status).toBe(200);
    // The adapters' states are the operator's to read.
    const health = await (await fetch(`${url}healthz`, { headers: { authorization: 'Bearer offline-operator-token' } })).json();
    expect(health.adapters.web.state).toBe('running');
    for (const a of platforms) expect(health.adapters[a], a).toMatchObject({ state: 'retrying', lastError: expect.stringMatching(/ECONNREFUSED/) });
    const metrics = await (await fetch(`${url}metrics`)).text();
    expect(metrics).toContain('kuakua_adapter_state{adapter="telegram",state="retrying"} 1');
    expect(metrics).toContain('kuakua_adapter_state{adapter="web",state="running"} 1');

    const logged = bot.output();
    for (const a of platforms) {
      const lines = logged.split('\n').filter((l) => l.includes(`"msg":"${a}: could not start`));
      expect(lines.length, a).toBeGreaterThan(0);
      expect(lines.length, a).toBeLessThanOrEqual(Math.floor(Math.log2(counts[a] + 1)) + 1);
    }
    // Nothing bypasses the logger: no raw stacks, no wechaty console lines, no secret.
    expect(logged).not.toMatch(/^\s+at /m);
    expect(logged).not.toMatch(/^\d\d:\d\d:\d\d (WARN|ERR) /m);
    expect(logged).not.toContain('onError is not a function');
    for (const secret of [
      'offline-telegram-token',
      'offline-discord',
      'puppet_padlocal_offline',
      'offline-onebot-token',
      'offline-feishu-secret',
      'offline-dingtalk-secret',
      'offline-operator-token',
    ]) {
      expect(logged).not.toContain(secret);
    }

    expect(await bot.stop()).toBe(0);
  });
});
