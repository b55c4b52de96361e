import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord } from '../fakes/discord.ts';
import { startFakeTelegram } from '../fakes/telegram.ts';
import { makeRandomModel } from '../helpers/model.ts';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.ts';
import type { KuakuaProcess } from '../helpers/cli.ts';
import { spawnStart, waitForBanner } from '../helpers/spawnStart.ts';
import { waitFor } from '../service/support.ts';

/** `npm start` with only a platform's token and API root set, pointed at a Bot API / Discord compatible server. */
describe('npm start runs the platform adapters whose credentials are set', () => {
  let redis: TestRedis;
  let modelDir: string;
  let running: KuakuaProcess | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    modelDir = await makeRandomModel();
  });
  afterEach(async () => {
    await running?.kill();
    running = undefined;
  });
  afterAll(async () => {
    await redis?.close();
  });

  const start = async (env: Record<string, string>) => {
    running = spawnStart({ REDIS_URL: redis.url, KUAKUA_MODEL_DIR: modelDir, KUAKUA_MODEL_THREADS: '1', KUAKUA_HTTP_PORT: String(await freePort()), ...env });
    await waitForBanner(running);
    return running;
  };

  it('Telegram: TELEGRAM_BOT_TOKEN + TELEGRAM_API_ROOT, and the server sees sendMessage with the praise and reply_parameters', async () => {
    const fake = await startFakeTelegram();
    try {
      const proc = await start({ TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_ROOT: fake.apiRoot });
      expect(proc.output()).toMatch(/adapters: [^;]*\btelegram\b/);
      const chat = { id: -100777, type: 'supergroup' as const };
      const m = fake.userMessage({ chat, from: { id: 7, is_bot: false, first_name: 'Ann' }, text: '求夸 我今天学会了骑车' });
      const reply = await waitFor(() => fake.sent.find((s) => s.chat.id === chat.id), 'sendMessage to the group', 60_000);
      expect(reply.reply_parameters).toMatchObject({ message_id: m.message_id });
      expect(reply.text!.length).toBeGreaterThan(0);
      expect(proc.output()).not.toContain(fake.token);
    } finally {
      await running?.kill();
      await fake.close();
    }
  });

  it('Discord: DISCORD_TOKEN + DISCORD_API_ROOT, and the server sees the reply with message_reference and no pings', async () => {
    const fake = await startFakeDiscord();
    try {
      const proc = await start({ DISCORD_TOKEN: fake.token, DISCORD_API_ROOT: fake.apiRoot });
      expect(proc.output()).toMatch(/adapters: [^;]*\bdiscord\b/);
      await waitFor(() => fake.ready() || undefined, 'the gateway session', 60_000);
      const m = fake.userMessage({ author: fake.user('ann'), content: `<@${fake.bot.id}> 我今天学会了骑车` });
      const reply = await waitFor(() => fake.posted.find((p) => p.message_reference?.message_id === m.id), 'the reply', 60_000);
      expect(reply.channel_id).toBe(fake.channelId);
      expect(reply.allowed_mentions).toEqual({ parse: [], replied_user: true });
      expect(proc.output()).not.toContain(fake.token);
    } finally {
      await running?.kill();
      await fake.close();
    }
  });
});
