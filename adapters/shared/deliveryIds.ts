import type { Logger } from 'pino';
import type { Delivery, Platform } from '../../src/events.ts';

/** The platforms whose deliveries name a chat, a person and a message there (the web answers its own HTTP requests). */
export type IdPlatform = Exclude<Platform, 'web'>;
export type DeliveryIdField = 'chatId' | 'userId' | 'replyToMessageId';
type IdRule = (id: string) => boolean;

/** 1, 2, … within Number's safe range, no sign, no leading zero: QQ numbers, Telegram user and message ids. */
const positiveInteger: IdRule = (id) => /^[1-9]\d{0,15}$/.test(id) && Number.isSafeInteger(Number(id));
/** Telegram chat ids: users positive, groups and channels negative. */
const signedInteger: IdRule = (id) => positiveInteger(id.startsWith('-') ? id.slice(1) : id);
/** A Discord snowflake: an unsigned 64-bit integer, 17 digits or more for anything made since 2015. */
const snowflake: IdRule = (id) => /^[1-9]\d{16,19}$/.test(id) && BigInt(id) < 2n ** 64n;
/** Feishu's open ids: `oc_…` chats, `ou_…` users, `om_…` messages. */
const feishuId =
  (prefix: 'oc' | 'ou' | 'om'): IdRule =>
  (id) =>
    new RegExp(`^${prefix}_[A-Za-z0-9_-]{1,120}$`).test(id);
/** Ids a platform makes up in its own format (DingTalk's `cid…`, `$:LWCP_v1:$…`; WeChat's per-puppet ids): no space or control character. */
const opaque: IdRule = (id) => /^[^\s\p{C}]{1,128}$/u.test(id);

/** Each field as the adapter's translate.ts produces it from a platform event. */
const RULES: Record<IdPlatform, Record<DeliveryIdField, IdRule>> = {
  qq: {
    chatId: (id) => {
      const number = /^(?:group|private):(\d+)$/.exec(id)?.[1];
      return number !== undefined && positiveInteger(number);
    },
    // Only a QQ number: an `at` of "all" would be @全体成员.
    userId: positiveInteger,
    // OneBot message ids are int32 (negative too), or numeric strings from some implementations.
    replyToMessageId: (id) => /^-?\d{1,20}$/.test(id),
  },
  telegram: { chatId: signedInteger, userId: positiveInteger, replyToMessageId: positiveInteger },
  discord: { chatId: snowflake, userId: snowflake, replyToMessageId: snowflake },
  feishu: { chatId: feishuId('oc'), userId: feishuId('ou'), replyToMessageId: feishuId('om') },
  dingtalk: { chatId: opaque, userId: opaque, replyToMessageId: opaque },
  wechat: { chatId: opaque, userId: opaque, replyToMessageId: opaque },
};

const FIELDS: readonly DeliveryIdField[] = ['chatId', 'userId', 'replyToMessageId'];

/** The fields of `d` that are not ids of `platform` in the form its adapter produces; empty when all are. */
export function invalidDeliveryIds(platform: IdPlatform, d: Pick<Delivery, DeliveryIdField>): DeliveryIdField[] {
  return FIELDS.filter((field) => !RULES[platform][field](d[field]));
}

/**
 * `deliver`, behind a check of the delivery's ids: a reply job in Redis is only as trustworthy as whoever can write
 * there. An invalid delivery is logged (field names only, never the text or the ids) and dropped without an error, so
 * the core does not retry it.
 */
export function checkedDeliver(platform: IdPlatform, logger: Logger, deliver: (d: Delivery) => Promise<void>): (d: Delivery) => Promise<void> {
  return async (d) => {
    const invalid = invalidDeliveryIds(platform, d);
    if (invalid.length > 0) {
      logger.error({ platform, invalid, kind: d.kind }, 'invalid delivery dropped, not sent');
      return;
    }
    await deliver(d);
  };
}
