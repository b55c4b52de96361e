import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { waitFor } from '../helpers/wait.ts';
import { INTENTS, INTERACTION_TOKEN_MS, startFakeDiscord, type FakeDiscord, type FakeDiscordMessage } from './discord.ts';

/** The fake's own strictness, with a bare gateway client and fetch: what it refuses, Discord refuses. */

interface Dispatch {
  t: string;
  d: Record<string, unknown>;
}

let fake: FakeDiscord;
let socket: WebSocket | undefined;
let clock = Date.now();

afterEach(async () => {
  socket?.terminate();
  socket = undefined;
  await fake?.close();
});

/** Identifies with `intents` and returns every dispatch the session gets, in order, once READY arrived. */
async function identify(intents: number): Promise<Dispatch[]> {
  const gateway = (await (await fetch(`${fake.apiRoot}/v10/gateway/bot`, { headers: { authorization: `Bot ${fake.token}` } })).json()) as { url: string };
  const dispatches: Dispatch[] = [];
  // The fake keeps one session: the new one replaces the last.
  socket?.terminate();
  socket = new WebSocket(gateway.url);
  socket.on('message', (raw) => {
    const frame = JSON.parse(String(raw)) as { op: number; t?: string; d: Record<string, unknown> };
    if (frame.op === 10)
      socket!.send(JSON.stringify({ op: 2, d: { token: fake.token, intents, properties: { os: 'linux', browser: 'test', device: 'test' } } }));
    if (frame.op === 0) dispatches.push({ t: frame.t!, d: frame.d });
  });
  await waitFor(() => dispatches.some((x) => x.t === 'READY') || undefined, 'READY');
  return dispatches;
}

const messages = (dispatches: Dispatch[]) => dispatches.filter((x) => x.t === 'MESSAGE_CREATE').map((x) => x.d as unknown as FakeDiscordMessage);

/** Sends `first`, then a message the session must get; returns what it got of both, once the second arrived. */
async function receivedOf(dispatches: Dispatch[], first: () => FakeDiscordMessage, marker: () => FakeDiscordMessage) {
  const a = first();
  const b = marker();
  await waitFor(() => messages(dispatches).some((m) => m.id === b.id) || undefined, 'the marker message');
  return { first: messages(dispatches).find((m) => m.id === a.id), marker: messages(dispatches).find((m) => m.id === b.id)! };
}

describe('fake Discord gateway: messages as the intents allow', () => {
  it('sends guild messages only to a session identified with GUILD_MESSAGES', async () => {
    fake = await startFakeDiscord();
    const author = fake.user('alice');
    const without = await identify(INTENTS.DIRECT_MESSAGES | INTENTS.MESSAGE_CONTENT);
    const guild = () => fake.userMessage({ author, content: '求夸 群里' });
    const dm = () => fake.userMessage({ author, content: '求夸 私聊', dm: true });
    expect((await receivedOf(without, guild, dm)).first).toBeUndefined();

    const withIt = await identify(INTENTS.GUILD_MESSAGES | INTENTS.DIRECT_MESSAGES | INTENTS.MESSAGE_CONTENT);
    expect((await receivedOf(withIt, guild, dm)).first).toMatchObject({ content: '求夸 群里' });
  });

  it('sends DMs only to a session identified with DIRECT_MESSAGES', async () => {
    fake = await startFakeDiscord();
    const author = fake.user('bob');
    const without = await identify(INTENTS.GUILD_MESSAGES | INTENTS.MESSAGE_CONTENT);
    const dm = () => fake.userMessage({ author, content: '求夸 私聊', dm: true });
    const guild = () => fake.userMessage({ author, content: '求夸 群里' });
    expect((await receivedOf(without, dm, guild)).first).toBeUndefined();

    const withIt = await identify(INTENTS.GUILD_MESSAGES | INTENTS.DIRECT_MESSAGES);
    expect((await receivedOf(withIt, dm, guild)).first).toMatchObject({ content: '求夸 私聊' });
  });

  it('without MESSAGE_CONTENT, empties the content of guild messages except those that mention the bot', async () => {
    fake = await startFakeDiscord();
    const author = fake.user('carol');
    const session = await identify(INTENTS.GUILD_MESSAGES | INTENTS.DIRECT_MESSAGES);
    const plain = () => fake.userMessage({ author, content: '求夸 我跑完了' });
    const mention = () => fake.userMessage({ author, content: `<@${fake.bot.id}> 我跑完了` });
    expect(await receivedOf(session, plain, mention)).toMatchObject({ first: { content: '' }, marker: { content: `<@${fake.bot.id}> 我跑完了` } });
    const dm = () => fake.userMessage({ author, content: '我跑完了', dm: true });
    expect((await receivedOf(session, dm, plain)).first).toMatchObject({ content: '我跑完了' });

    const full = await identify(INTENTS.GUILD_MESSAGES | INTENTS.MESSAGE_CONTENT);
    expect((await receivedOf(full, plain, mention)).first).toMatchObject({ content: '求夸 我跑完了' });
  });
});

describe('fake Discord interactions: the id and token they were created with, for 15 minutes', () => {
  const rest = (method: string, path: string, body?: unknown) =>
    fetch(`${fake.apiRoot}/v10${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).then(async (res) => ({ status: res.status, json: res.status === 204 ? null : ((await res.json()) as Record<string, unknown>) }));
  const DEFER = { type: 5 };
  const UNKNOWN_INTERACTION = { status: 404, json: { code: 10062, message: 'Unknown interaction' } };
  const INVALID_TOKEN = { status: 401, json: { code: 50027, message: 'Invalid Webhook Token' } };

  /** A /kuakua interaction as the session got it: its id and token. */
  async function interaction(dispatches: Dispatch[]): Promise<{ id: string; token: string }> {
    const id = fake.slashCommand({ author: fake.user('dan'), text: '我写完了论文' });
    const created = await waitFor(() => dispatches.find((x) => x.t === 'INTERACTION_CREATE' && x.d.id === id), 'INTERACTION_CREATE');
    return { id, token: String(created.d.token) };
  }

  it('takes one callback per interaction, only with its own token', async () => {
    fake = await startFakeDiscord();
    const session = await identify(INTENTS.GUILD_MESSAGES);
    const { id, token } = await interaction(session);
    const other = await interaction(session);
    expect(await rest('POST', `/interactions/${id}/${other.token}/callback`, DEFER)).toEqual(UNKNOWN_INTERACTION);
    expect(await rest('POST', `/interactions/${other.id}0/${other.token}/callback`, DEFER)).toEqual(UNKNOWN_INTERACTION);
    expect(await rest('POST', `/interactions/${id}/${token}/callback`, DEFER)).toEqual({ status: 204, json: null });
    expect(await rest('POST', `/interactions/${id}/${token}/callback`, DEFER)).toEqual({
      status: 400,
      json: { code: 40060, message: 'Interaction has already been acknowledged.' },
    });
    expect(fake.interactionResponses).toEqual([{ interactionId: id, body: DEFER }]);
  });

  it('edits a response only under the app id and an issued token, once it exists, and not after it was deleted', async () => {
    fake = await startFakeDiscord();
    const session = await identify(INTENTS.GUILD_MESSAGES);
    const { id, token } = await interaction(session);
    const edit = { content: '你真棒' };
    expect(await rest('PATCH', `/webhooks/${fake.applicationId}/${token}/messages/@original`, edit)).toEqual({
      status: 404,
      json: { code: 10008, message: 'Unknown Message' },
    });
    await rest('POST', `/interactions/${id}/${token}/callback`, DEFER);
    expect(await rest('PATCH', `/webhooks/${fake.guildId}/${token}/messages/@original`, edit)).toEqual({
      status: 404,
      json: { code: 10015, message: 'Unknown Webhook' },
    });
    expect(await rest('PATCH', `/webhooks/${fake.applicationId}/${token.slice(1)}/messages/@original`, edit)).toEqual(INVALID_TOKEN);
    expect(await rest('POST', `/webhooks/${fake.applicationId}/not-issued`, edit)).toEqual(INVALID_TOKEN);
    expect(await rest('PATCH', `/webhooks/${fake.applicationId}/${token}/messages/@original`, { content: '' })).toMatchObject({
      status: 400,
      json: { code: 50035 },
    });
    expect(await rest('PATCH', `/webhooks/${fake.applicationId}/${token}/messages/@original`, edit)).toMatchObject({
      status: 200,
      json: { content: '你真棒' },
    });
    expect(await rest('POST', `/webhooks/${fake.applicationId}/${token}`, { content: '再夸一句' })).toMatchObject({ status: 200 });
    expect(await rest('DELETE', `/webhooks/${fake.applicationId}/${token}/messages/@original`)).toEqual({ status: 204, json: null });
    expect((await rest('PATCH', `/webhooks/${fake.applicationId}/${token}/messages/@original`, edit)).status).toBe(404);
    expect(fake.webhookMessages.map((w) => w.method)).toEqual(['PATCH', 'POST', 'DELETE']);
  });

  it(`refuses an interaction's token once ${INTERACTION_TOKEN_MS / 60_000} minutes have passed on its clock`, async () => {
    clock = Date.now();
    fake = await startFakeDiscord({ now: () => clock });
    const session = await identify(INTENTS.GUILD_MESSAGES);
    const late = await interaction(session);
    const answered = await interaction(session);
    await rest('POST', `/interactions/${answered.id}/${answered.token}/callback`, DEFER);
    clock += INTERACTION_TOKEN_MS - 1;
    expect((await rest('PATCH', `/webhooks/${fake.applicationId}/${answered.token}/messages/@original`, { content: '还来得及' })).status).toBe(200);
    clock += 1;
    expect(await rest('POST', `/interactions/${late.id}/${late.token}/callback`, DEFER)).toEqual(UNKNOWN_INTERACTION);
    expect(await rest('PATCH', `/webhooks/${fake.applicationId}/${answered.token}/messages/@original`, { content: '太晚了' })).toEqual(INVALID_TOKEN);
    expect(await rest('POST', `/webhooks/${fake.applicationId}/${answered.token}`, { content: '太晚了' })).toEqual(INVALID_TOKEN);
  });
});
