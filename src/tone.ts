import { textKey } from '../common/textKey.ts';
import type { Intent } from './intents.ts';

/**
 * What a post calls for when no generated reply is good enough: comfort, calm, encouragement before an event,
 * congratulation, or plain praise.
 */
export type Tone = 'sad' | 'anxious' | 'birthday' | 'achievement' | 'encourage' | 'neutral';

// Checked in this order: a failure or a loss outweighs the achievement words it may contain (没考上 holds 考上), and a
// result (考试过了) outweighs the event words it may contain (考试).
const CUES: readonly [Tone, RegExp][] = [
  [
    'sad',
    /分手|失恋|被甩|离婚|去世|离世|过世|葬礼|想念|思念|生病|病了|住院|手术|化疗|确诊|癌|就医|看病|发烧|过敏|难过|伤心|哭|心碎|失败|没考上|没过|落榜|挂科|挂了|被拒|一无是处|拒了|被裁|裁员|失业|待业|丢了工作|被骂|委屈|孤独|崩溃|抑郁|难受|心累|好累|好丧|丧|低落|不开心|差劲|自卑|没用|废物|怀疑自己|痛苦|绝望|后悔|遗憾|输了|三战|二战|差一分/,
  ],
  ['anxious', /焦虑|紧张|害怕|好怕|担心|失眠|睡不着|压力|慌|不安|忐忑|怎么办|复查|等结果|静不下心/],
  ['birthday', /生日/],
  [
    'achievement',
    /终于|成功|通过|过了|过啦|考过|考上|上岸|录取|拿到|获得|获奖|得奖|中了|offer|升职|加薪|转正|毕业|一把过|上线|突破|拿下|发表|接收|录用|完成|做到|第一名|满分|瘦了|减肥|学会|搞定|考完|跑完|赚钱|破\d|涨粉/i,
  ],
  ['encourage', /求鼓励|求打气|求加油|明天|马上要|即将|下周|要去|准备|面试|答辩|考试|比赛|演讲|第一天|入职|开学|出发/],
];

/** The tone from the post's words alone: what decides when no post reader has read it. */
export function detectTone(post: string): Tone {
  const text = textKey(post);
  return CUES.find(([, cue]) => cue.test(text))?.[0] ?? 'neutral';
}

const BY_INTENT: Record<Intent, Tone> = {
  achievement: 'achievement',
  effort: 'neutral',
  daily_win: 'neutral',
  made_shown: 'neutral',
  kindness: 'neutral',
  courage: 'neutral',
  celebration: 'achievement',
  setback: 'sad',
  sad: 'sad',
  tired_wronged: 'sad',
  anxious: 'anxious',
  joke: 'neutral',
};

const BIRTHDAY = /生日|生辰|birthday/i;
/** Spent alone or unremembered: 一个人过, 没人记得, 一条祝福都没收到, 大家都忘了 (not 忘了给他买礼物). */
const ALONE =
  /(?:一个人|独自|自己)(?:过|吃|在|去|庆祝|淋|待|给自己)|没有?(?:一个)?人(?:记得|陪|祝|说|知道|一起|在意)|(?<=[都给友人])忘(?:了|记)|遗忘|一条祝福|无人|孤单|孤独|冷清/;

/** A birthday spent alone or that nobody remembered: still a birthday to wish, with the group for company. */
export function aloneOnBirthday(post: string): boolean {
  return BIRTHDAY.test(post) && ALONE.test(post);
}

/**
 * The tone a reply must meet: from the reader's intent when there is one. A celebration is a birthday only if it says
 * so; a birthday spent alone is one whatever the reader makes of it (comfort without a wish misses the day).
 */
export function toneOf(post: string, intent?: Intent): Tone {
  if (aloneOnBirthday(post)) return 'birthday';
  if (!intent) return detectTone(post);
  return intent === 'celebration' && BIRTHDAY.test(post) ? 'birthday' : BY_INTENT[intent];
}

// Laughter and celebration: never in a reply to a sad or anxious post.
const CHEER = /哈哈|呵呵|嘻嘻|嘿嘿|笑死|恭喜|祝贺|生日快乐|庆祝|干杯|😂|🤣|😄|😆|😁|🎉|🎂|🥳/u;

// Words of comfort or calm: a reply to a sad or anxious post needs one (你这也太优秀了吧 to a failed exam does not fit).
const COMFORT = /抱|会好|好起来|没关系|没事|别难过|不要难过|别哭|心疼|辛苦|陪|慢慢|照顾好|休息|别怕|不怕|不要怕|勇敢|坚强|温柔|难过|加油|一定可以|相信/;

/**
 * The reply does not fit the post's tone: it wishes a happy birthday unasked, or answers a sad or anxious post with
 * laughter or celebration, or without a word of comfort.
 */
export function clashesWithTone(reply: string, tone: Tone): boolean {
  if (tone !== 'birthday' && reply.includes('生日')) return true;
  return (tone === 'sad' || tone === 'anxious') && (CHEER.test(reply) || !COMFORT.test(reply));
}
