import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DINGTALK_TEXT_LIMIT_BYTES, startFakeDingtalk, type FakeDingtalk, type FakeWebhookAnswer } from './dingtalk.ts';

/** The fake's own strictness: its session webhooks refuse what DingTalk's refuse, answering as DingTalk does. */

let fake: FakeDingtalk;

beforeAll(async () => {
  fake = await startFakeDingtalk();
});
afterAll(async () => {
  await fake?.close();
});

async function post(url: string, body: unknown, contentType = 'application/json'): Promise<{ status: number; answer: FakeWebhookAnswer }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, answer: (await res.json()) as FakeWebhookAnswer };
}

const text = (content: unknown) => ({ msgtype: 'text', text: { content } });
const OK = { status: 200, answer: { errcode: 0, errmsg: 'ok' } };
const NO_SESSION = { status: 200, answer: { errcode: 300001, errmsg: 'session 不存在' } };
const refused = (errcode: number) => ({ status: 200, answer: { errcode, errmsg: expect.any(String) } });
/** Exactly DINGTALK_TEXT_LIMIT_BYTES bytes of UTF-8, ending in a three-byte character. */
const LONGEST = `${'a'.repeat(DINGTALK_TEXT_LIMIT_BYTES - 3)}夸`;

describe('fake DingTalk session webhooks', () => {
  it('post to a session it issued with a robot message, until that session expires', async () => {
    const live = fake.robotMessage({ text: '求夸' });
    expect(await post(live.message.sessionWebhook, text('你真棒'))).toEqual(OK);
    expect(fake.repliesTo(live.session)).toEqual([{ session: live.session, body: text('你真棒') }]);

    const expired = fake.robotMessage({ text: '求夸', over: { sessionWebhookExpiredTime: Date.now() - 1 } });
    expect(await post(expired.message.sessionWebhook, text('你真棒'))).toEqual(NO_SESSION);
    expect(await post(fake.webhook(Date.now() - 1).url, text('你真棒'))).toEqual(NO_SESSION);
    expect(fake.repliesTo(expired.session)).toEqual([]);
  });

  it('refuse a session they did not issue', async () => {
    const { url } = fake.webhook();
    expect(await post(`${url}x`, text('你真棒'))).toEqual(NO_SESSION);
    expect(await post(`${fake.origin}/robot/sendBySession`, text('你真棒'))).toEqual(NO_SESSION);
  });

  it.each([
    ['a body that is not JSON', '{"msgtype": "text"', 40035],
    ['no msgtype', { text: { content: '你真棒' } }, 400105],
    ['an unknown msgtype', { msgtype: 'picture', text: { content: '你真棒' } }, 400105],
    ['a text message without text', { msgtype: 'text' }, 40035],
    ['an empty text', text(''), 40035],
    ['a blank text', text(' \n '), 40035],
    ['a text that is not a string', text(42), 40035],
    [`a text over ${DINGTALK_TEXT_LIMIT_BYTES} bytes`, text(`${LONGEST}a`), 40035],
    ['a markdown message without its title', { msgtype: 'markdown', markdown: { text: '**你真棒**' } }, 40035],
  ])('refuse %s, posting nothing', async (_name, body, errcode) => {
    const { url, session } = fake.webhook();
    expect(await post(url, body)).toEqual(refused(errcode));
    expect(fake.repliesTo(session)).toEqual([]);
  });

  it('refuse a body sent as anything but application/json', async () => {
    const { url, session } = fake.webhook();
    expect(await post(url, text('你真棒'), 'text/plain')).toEqual(refused(43004));
    expect(fake.repliesTo(session)).toEqual([]);
  });

  it(`take text up to ${DINGTALK_TEXT_LIMIT_BYTES} bytes, and markdown with its title and text`, async () => {
    const { url, session } = fake.webhook();
    const longest = text(LONGEST);
    const markdown = { msgtype: 'markdown', markdown: { title: '夸夸', text: '**你真棒**' } };
    expect(await post(url, longest)).toEqual(OK);
    expect(await post(url, markdown)).toEqual(OK);
    expect(fake.repliesTo(session).map((r) => r.body)).toEqual([longest, markdown]);
  });
});
