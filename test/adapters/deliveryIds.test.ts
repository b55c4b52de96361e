import { describe, expect, it } from 'vitest';
import { checkedDeliver, invalidDeliveryIds, type IdPlatform } from '../../adapters/shared/deliveryIds.ts';
import type { Delivery } from '../../src/events.ts';
import { recordLogs } from '../helpers/logs.ts';

type Ids = Pick<Delivery, 'chatId' | 'userId' | 'replyToMessageId'>;
const HOST = { name: '夸夸机器人', avatar: '夸' };

/** Ids as each adapter's translate.ts produces them from real platform events. */
const VALID: Record<IdPlatform, Ids> = {
  qq: { chatId: 'group:123456789', userId: '10001', replyToMessageId: '-2147483648' },
  telegram: { chatId: '-1001234567890', userId: '123456789', replyToMessageId: '42' },
  discord: { chatId: '1234567890123456789', userId: '80351110224678912', replyToMessageId: '1234567890123456790' },
  feishu: { chatId: 'oc_5ad11d72b830411d72b836c20', userId: 'ou_7d8a6e6df7621556ce0d21922b676706ccs', replyToMessageId: 'om_dc13264520392913993dd051dba21dcf' },
  dingtalk: { chatId: 'cidOf4HbToFeV9RaT8cK6Ogvw==', userId: '$:LWCP_v1:$Ff09GIxRoT6gY0', replyToMessageId: 'msgXhuRwOyWx6Xs9gWKAA==' },
  wechat: { chatId: '24235375@chatroom', userId: 'wxid_abc123', replyToMessageId: '1234567890123456789' },
};

const delivery = (platform: IdPlatform, over: Partial<Ids> = {}): Delivery => ({
  platform,
  ...VALID[platform],
  ...over,
  text: '真棒',
  kind: 'praise',
  voice: HOST,
});

describe('delivery ids, checked at the adapter boundary', () => {
  it.each(Object.keys(VALID) as IdPlatform[])('accepts %s ids as the adapter produces them', (platform) => {
    expect(invalidDeliveryIds(platform, delivery(platform))).toEqual([]);
  });

  it.each<[IdPlatform, keyof Ids, string]>([
    ['qq', 'chatId', 'private:10001'],
    ['qq', 'replyToMessageId', '77'],
    ['telegram', 'chatId', '123456789'],
    ['discord', 'chatId', '80351110224678912'],
    ['feishu', 'chatId', 'oc_p2p_ou_abc123'],
    ['dingtalk', 'userId', 'manager4220'],
    ['wechat', 'chatId', '@@0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9'],
    ['wechat', 'userId', 'ckx0d9l8p0000qz3m1abcdxyz'],
  ])('accepts %s %s %j', (platform, field, value) => {
    expect(invalidDeliveryIds(platform, delivery(platform, { [field]: value }))).toEqual([]);
  });

  it.each<[IdPlatform, keyof Ids, string]>([
    ['qq', 'userId', 'all'],
    ['qq', 'userId', ''],
    ['qq', 'userId', '0'],
    ['qq', 'userId', ' 10001'],
    ['qq', 'userId', '10001,qq=all'],
    ['qq', 'userId', '99999999999999999999'],
    ['qq', 'chatId', 'group:all'],
    ['qq', 'chatId', 'group:'],
    ['qq', 'chatId', 'channel:123'],
    ['qq', 'chatId', 'private:-1'],
    ['qq', 'chatId', 'group:123\n'],
    ['qq', 'replyToMessageId', '12,qq=all'],
    ['qq', 'replyToMessageId', ''],
    ['telegram', 'chatId', '@some_public_channel'],
    ['telegram', 'chatId', '1.5'],
    ['telegram', 'chatId', '-0'],
    ['telegram', 'userId', '-5'],
    ['telegram', 'replyToMessageId', 'abc'],
    ['discord', 'chatId', '123'],
    ['discord', 'chatId', '@everyone'],
    ['discord', 'chatId', '18446744073709551616'],
    ['discord', 'userId', '12345678901234567890123'],
    ['discord', 'replyToMessageId', '../channels/1'],
    ['feishu', 'chatId', 'ou_7d8a6e6df7621556ce0d21922b676706ccs'],
    ['feishu', 'chatId', 'oc_'],
    ['feishu', 'userId', 'on_7d8a6e6df76215'],
    ['feishu', 'userId', ''],
    ['feishu', 'replyToMessageId', 'om_../../chats/oc_1'],
    ['dingtalk', 'chatId', ''],
    ['dingtalk', 'chatId', 'cid a'],
    ['dingtalk', 'userId', 'staff\n01'],
    ['dingtalk', 'replyToMessageId', 'm'.repeat(129)],
    ['wechat', 'chatId', ''],
    ['wechat', 'userId', 'wxid\u0000abc'],
    ['wechat', 'replyToMessageId', 'a b'],
  ])('refuses %s %s %j', (platform, field, value) => {
    expect(invalidDeliveryIds(platform, delivery(platform, { [field]: value }))).toEqual([field]);
  });

  it('drops an invalid delivery with a logged error that names the fields and never the text, and sends a valid one', async () => {
    const { logger, lines, entries } = recordLogs();
    const sent: Delivery[] = [];
    const deliver = checkedDeliver('qq', logger, async (d) => void sent.push(d));
    await deliver({ ...delivery('qq', { userId: 'all', chatId: 'group:x' }), text: '秘密的伪造内容' });
    expect(sent).toEqual([]);
    expect(entries('invalid delivery dropped, not sent')).toMatchObject([{ level: 50, platform: 'qq', invalid: ['chatId', 'userId'], kind: 'praise' }]);
    expect(lines.join('\n')).not.toContain('秘密的伪造内容');
    await deliver(delivery('qq'));
    expect(sent).toEqual([delivery('qq')]);
  });
});
