import type { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as PUPPET from 'wechaty-puppet';
import { mock } from 'wechaty-puppet-mock';
import { wechatAdapter } from '../../adapters/wechat/definition.ts';
import { startWechatAdapter } from '../../adapters/wechat/index.ts';
import type { RunningAdapter } from '../../src/adapter.ts';
import type { IncomingMessage } from '../../src/events.ts';
import { LoginStore } from '../../src/loginState.ts';
import { LoginPuppet } from '../fakes/wechat.ts';
import { waitFor } from '../service/support.ts';
import { askedPost, BAD_INPUTS, expectedPost } from './badInput.ts';
import { INDIRECT_DISTRESS, INDIRECT_DISTRESS_TRADITIONAL, traditionalCareReply } from '../helpers/distressPosts.ts';
import { recordingCore, startStack, type Stack } from './stack.ts';

type ContactMock = ReturnType<mock.Mocker['createContact']>;
type RoomMock = ReturnType<mock.Mocker['createRoom']>;
interface Said {
  text: string;
  to: string;
}

const LONG_HELP = '夸夸使用说明。'.repeat(700); // 4900 characters: three WeChat messages

let stack: Stack;
let adapter: RunningAdapter;
let mocker: mock.Mocker;
let puppet: LoginPuppet;
let self: ContactMock;
let admin: ContactMock;
let room: RoomMock;
let memoryDir: string;
const login = new LoginStore();
/** Everything the bot said, in rooms and to contacts, as the mock puppet saw it. */
const said: Said[] = [];
/** What the adapter handed to the (real) core. */
const handed: IncomingMessage[] = [];
const BOT_NAME = 'kuakua-test';

/** Mock contacts and rooms are event emitters at runtime, but their typings do not say so. */
const onMessage = (target: ContactMock | RoomMock, fn: (m: { payload: PUPPET.payloads.Message }) => void) =>
  (target as unknown as EventEmitter).on('message', fn);

function person(name: string): ContactMock {
  const c = mocker.createContact({ name });
  onMessage(c, (m) => {
    if (m.payload.talkerId === self.id && !m.payload.roomId) said.push({ text: m.payload.text ?? '', to: c.id });
  });
  return c;
}

const saidTo = (chatId: string) => said.filter((s) => s.to === chatId);

/** Sends `text` from `from` into `to` and returns what the bot said there in answer (exactly one message expected). */
async function oneAnswer(from: ContactMock, text: string, to: RoomMock | ContactMock = room, mentions: ContactMock[] = []): Promise<string> {
  const chat = to === self ? from.id : to.id;
  const before = saidTo(chat).length;
  from.say(text, mentions).to(to);
  await waitFor(() => saidTo(chat).length > before || undefined, `an answer to "${text.slice(0, 30)}"`);
  // Every reply queued so far has been delivered.
  await stack.idle();
  const answers = saidTo(chat).slice(before);
  expect(answers).toHaveLength(1);
  return answers[0]!.text;
}

/** Silence is proven by a later triggering message in the same chat getting the only answer. */
async function noAnswer(send: () => void, to: RoomMock = room): Promise<void> {
  const before = saidTo(to.id).length;
  send();
  const prober = person('prober');
  const answer = await oneAnswer(prober, '求夸 我来确认一下', to);
  expect(answer.startsWith(`@prober`)).toBe(true);
  expect(saidTo(to.id).length).toBe(before + 1);
}

/**
 * A new mocker and puppet with the bot's account, an admin and the group, as one run of the bot sees WeChat; a restart
 * (a new process) sees the same accounts and group again, under the same ids.
 */
function world(ids?: { self: string; admin: string; room: string }): void {
  mocker = new mock.Mocker();
  // A short watchdog: a puppet whose heartbeats stop (lost network) is reset within two seconds.
  puppet = new LoginPuppet({ mocker, timeoutSeconds: 2 });
  self = mocker.createContact({ name: 'kuakua', ...(ids ? { id: ids.self } : {}) });
  admin = mocker.createContact({ name: 'admin', ...(ids ? { id: ids.admin } : {}) });
  room = mocker.createRoom({ topic: '夸夸群', memberIdList: [self.id, admin.id], ...(ids ? { id: ids.room } : {}) });
  onMessage(room, (m) => {
    if (m.payload.talkerId === self.id) said.push({ text: m.payload.text ?? '', to: room.id });
  });
}

const startAdapter = () =>
  startWechatAdapter({ core: recordingCore(stack.core, handed), logger: stack.logger, login, puppet, name: BOT_NAME, memoryDir, printQr: false });

beforeAll(async () => {
  world();
  stack = await startStack({
    admins: { telegram: [], discord: [], wechat: [admin.id], web: [] },
    rateLimit: { chatPerMinute: 0 },
    messages: { help: LONG_HELP },
  });
  // Empty: the first start has no saved login, and the puppet shows a QR code.
  memoryDir = mkdtempSync(join(tmpdir(), 'kuakua-wechat-'));
  adapter = await startAdapter();
});

afterAll(async () => {
  await adapter?.stop();
  await stack?.close();
  if (memoryDir) rmSync(memoryDir, { recursive: true, force: true });
});

describe('wechat adapter, end to end through Wechaty (PuppetMock), Redis, the core and the worker', () => {
  it('takes the puppet from WECHATY_PUPPET, and refuses a puppet that is not installed with a clear error', async () => {
    const section = stack.config.wechat;
    expect(wechatAdapter.options(section, {})).toBeUndefined();
    expect(wechatAdapter.options(section, { WECHATY_PUPPET: 'wechaty-puppet-mock' })?.puppet).toBe('wechaty-puppet-mock');
    expect(wechatAdapter.options({ ...section, puppet: 'wechaty-puppet-wechat4u' }, {})?.puppet).toBe('wechaty-puppet-wechat4u');
    expect(wechatAdapter.options({ ...section, puppet: 'wechaty-puppet-wechat4u' }, { WECHATY_PUPPET: 'wechaty-puppet-mock' })?.puppet).toBe(
      'wechaty-puppet-mock',
    );
    expect(wechatAdapter.options(section, { WECHATY_PUPPET_SERVICE_TOKEN: 'puppet-token' })).toMatchObject({
      puppet: 'wechaty-puppet-service',
      puppetToken: 'puppet-token',
    });
    await expect(startWechatAdapter({ core: stack.core, logger: stack.logger, puppet: 'wechaty-puppet-nonexistent', name: 'x', memoryDir })).rejects.toThrow(
      /"wechaty-puppet-nonexistent" is not installed: run `npm install wechaty-puppet-nonexistent`/,
    );
  });

  it('publishes the login QR code until the account scans it, then the logged-in account, and keeps the login in wechat.memoryDir', async () => {
    const qrcode = await waitFor(() => (login.get('wechat')?.status === 'scan' ? login.get('wechat')?.qrcode : undefined), 'the scan state');
    expect(qrcode).toBe(puppet.authQrCode);
    expect(puppet.isLoggedIn).toBe(false);
    await puppet.scan(self);
    await waitFor(() => login.get('wechat')?.status === 'logged-in' || undefined, 'the login');
    expect(login.get('wechat')?.user).toBe('kuakua');
    expect(existsSync(join(memoryDir, `${BOT_NAME}.memory-card.json`))).toBe(true);
  });

  it('answers an @-mention in a group once, @-mentioning the asker', async () => {
    const alice = person('alice');
    const answer = await oneAnswer(alice, '@kuakua\u2005我今天跑完了全马', room, [self]);
    // Wechaty's room.say(text, contact): "@name", a space, the text.
    expect(answer).toMatch(/^@alice \S/);
  });

  it('answers a keyword in a group, and ignores a plain group message', async () => {
    await oneAnswer(person('bob'), '夸我 我学会了游泳');
    await noAnswer(() => person('carol').say('今天天气不错').to(room));
  });

  it('answers a private chat, and does not answer its own replies', async () => {
    const dan = person('dan');
    // Replies in a private chat come back as messages from the bot itself; answering them would loop forever.
    const answer = await oneAnswer(dan, '我今天按时起床了', self);
    expect(answer.length).toBeGreaterThan(0);
    expect(saidTo(dan.id)).toHaveLength(1);
    // The adapter hands its own reply to the core like any message; the core drops it.
    await waitFor(
      () =>
        stack.logs.some((line) => line.includes('"message handled"') && line.includes(`"userId":"${self.id}"`) && line.includes('"reason":"from-bot"')) ||
        undefined,
      'the core to drop the bot’s own reply',
    );
  });

  it('answers a distress post in a group with the care reply, @-mentioning the asker, without trigger word or mention', async () => {
    const answer = await oneAnswer(person('kim'), '活着真的没意思，不 想 活 了');
    expect(answer.startsWith('@kim')).toBe(true);
    expect(answer).toContain(stack.config.distress.reply);
  });

  it('answers a 求夸 that hides distress in words no pattern lists with the care reply, in the script it was written in', async () => {
    expect(await oneAnswer(person('lin'), INDIRECT_DISTRESS)).toContain(stack.config.distress.reply);
    expect(await oneAnswer(person('lam'), INDIRECT_DISTRESS_TRADITIONAL)).toContain(await traditionalCareReply(stack.config.distress));
  });

  it('skips messages sent before the bot started (message.age())', async () => {
    const erin = person('erin');
    await noAnswer(() => {
      const old = mocker.MessageMock.create({
        id: `old-${Date.now()}`,
        talkerId: erin.id,
        roomId: room.id,
        text: '求夸 这是一小时前的消息',
        timestamp: Date.now() - 3_600_000,
        type: PUPPET.types.Message.Text,
        mentionIdList: [],
      });
      puppet.emit('message', { messageId: old.id });
    });
  });

  it('keeps the per-user cooldown', async () => {
    const fay = person('fay');
    await oneAnswer(fay, '求夸 第一次');
    await noAnswer(() => fay.say('求夸 第二次').to(room));
  });

  it('praises a friend @-mentioned in the room, @-mentioning them by name; refuses someone not in the room', async () => {
    const ming = person('小明');
    room.add(ming).by(admin);
    const answer = await oneAnswer(person('gail'), '夸夸 @小明 他今天答辩过了', room, [ming]);
    expect(answer).toMatch(/^@小明\s+小明，/);
    const stranger = person('路人');
    expect(await oneAnswer(person('hank'), '夸夸 @路人 他很棒', room, [stranger])).toContain(stack.config.messages.friendNotInChat);
  });

  it('lets only admins use admin commands; others get a polite refusal', async () => {
    expect(await oneAnswer(person('mallory'), '/kuakua_off')).toContain(stack.config.messages.notAdmin);
    expect(await oneAnswer(admin, '/kuakua_off')).toContain(stack.config.messages.disabled);
    const gus = person('gus');
    gus.say('求夸 没人理我').to(room);
    expect(await oneAnswer(admin, '/kuakua_on')).toContain(stack.config.messages.enabled);
    expect(saidTo(room.id).some((s) => s.text.startsWith('@gus'))).toBe(false);
    expect(await oneAnswer(admin, '/kuakua_status')).toMatch(/worker/);
  });

  it('splits a long reply, @-mentioning the asker in the first part', async () => {
    const before = saidTo(room.id).length;
    person('helen').say('/kuakua_help').to(room);
    await waitFor(() => saidTo(room.id).length >= before + 3 || undefined, 'three parts of the help text');
    const parts = saidTo(room.id)
      .slice(before)
      .map((s) => s.text);
    expect(parts[0]!.startsWith('@helen')).toBe(true);
    expect(parts.join('').replace(/^@helen\s/, '')).toBe(LONG_HELP);
  });

  it('keeps answering after the puppet stops beating and is reset (how puppets recover from network loss), logged in again with no scan', async () => {
    const errorsBefore = stack.logs.filter((l) => l.includes('WatchdogAgent reset')).length;
    const before = { qrCodes: puppet.qrCodes, resumed: puppet.resumed };
    puppet.emit('heartbeat', { data: 'last heartbeat before the network went away' });
    await waitFor(() => stack.logs.filter((l) => l.includes('WatchdogAgent reset')).length > errorsBefore || undefined, 'the watchdog reset', 10_000);
    await waitFor(() => (puppet.resumed > before.resumed && puppet.isLoggedIn) || undefined, 'the puppet to start again and log in from its saved session');
    expect(puppet.qrCodes).toBe(before.qrCodes);
    await oneAnswer(person('ivan'), '求夸 网络恢复了');
  });

  it.each(BAD_INPUTS)('answers bad input in a private chat, asking the models for the post the core makes of it: %s', async (_name, text, facts) => {
    const fuzzer = person('fuzzer');
    await oneAnswer(fuzzer, text, self);
    const asked = handed.find((h) => h.userId === fuzzer.id);
    expect(await askedPost(stack, asked!.messageId)).toBe(expectedPost(facts, stack.config));
    await oneAnswer(person('after'), '求夸', self);
  });

  it('logs in from the login it kept after a restart of the bot, with no new scan, and answers', async () => {
    await adapter.stop();
    login.clear('wechat');
    world({ self: self.id, admin: admin.id, room: room.id });
    adapter = await startAdapter();
    await waitFor(() => login.get('wechat')?.status === 'logged-in' || undefined, 'the login from the kept session');
    expect(login.get('wechat')?.user).toBe('kuakua');
    expect({ qrCodes: puppet.qrCodes, resumed: puppet.resumed }).toEqual({ qrCodes: 0, resumed: 1 });
    expect((await oneAnswer(person('judy'), '求夸 重启之后')).startsWith('@judy')).toBe(true);
  });
});
