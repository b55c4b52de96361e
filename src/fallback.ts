import { textKey } from '../common/textKey.ts';
import { isBond, isNear, isResolve, isSpent } from './brightSpots.ts';
import { type BrightSpotKind, type FrameKind, type Frames, fillFrame } from './frames.ts';
import type { Intent } from './intents.ts';
import { alike, blockedWord } from './policy.ts';
import { quotablePhrase, saysNothing } from './quote.ts';
import { moodOf, topicOf } from './topicFrames.ts';
import { aloneOnBirthday, type Tone, toneOf } from './tone.ts';

/**
 * Fixed replies for when no generated reply is good enough and the post has nothing a frame could quote. They fit the
 * post's tone (comfort for a sad post, never a congratulation).
 */
export const BY_TONE: Record<Tone, readonly string[]> = {
  sad: [
    '抱抱你，难过的时候不用硬撑，你已经很努力了。',
    '先抱一下。这段日子辛苦你了，慢慢来，我们都在。',
    '愿意说出来就很勇敢了，照顾好自己，一切会慢慢好起来的。',
    '心疼你，允许自己难过一会儿，你值得被温柔对待。',
    '你已经做得很好了，别太苛责自己，给自己一点时间。',
    '抱紧你！熬过来的每一天都算数，你比自己想象的更坚强。',
    '辛苦了，今晚早点休息，好好吃饭，明天会比今天轻松一点。',
    '不开心就在这里说出来，大家陪着你，你不是一个人。',
  ],
  anxious: [
    '紧张说明你很在乎，你准备得比自己以为的更充分。',
    '深呼吸，一步一步来，你一定可以的。',
    '担心是正常的，之前那么多难关你都过来了，这次也可以。',
    '先照顾好自己，好好睡一觉，明天的你会更从容。',
    '别怕，尽力就好，认真准备的人运气都不会太差。',
    '抱抱有点慌的你，你已经很棒了，放轻松。',
    '一件一件来，不用一下子想完所有事，你可以的。',
    '慌的时候先喝口水，慢慢来，我们都陪着你。',
  ],
  encourage: [
    '加油！你准备了这么久，一定没问题的！',
    '全群给你打气，稳稳发挥，等你的好消息！',
    '相信自己，你比你想象的更厉害，冲呀！',
    '放轻松，拿出平时的水平就够了，你可以的！',
    '祝你一切顺利，回来等你报喜！',
    '最难的是开始，你已经开始了，剩下的交给实力，加油！',
    '稳住，你一定行！到时候来群里报喜呀！',
    '给你加满能量，冲冲冲，祝一切顺利！',
  ],
  birthday: [
    '生日快乐！新的一岁也要开开心心、被好好爱着！',
    '生日快乐呀！愿你新的一岁平安顺遂，想要的都实现！',
    '祝你生日快乐！今天你最大，记得好好犒劳自己🎂',
    '生日快乐！全群给你唱生日歌，愿你每天都有好心情！',
    '又长大一岁啦，生日快乐！愿你永远闪闪发光！',
    '生日快乐！今天的快乐要加倍，明天的好运也要加倍！',
  ],
  achievement: [
    '恭喜恭喜！这都是你努力换来的，太厉害了！',
    '哇，真的做到了！为你骄傲，值得好好庆祝一下！',
    '太棒了！付出终有回报，请收下全群的掌声！',
    '恭喜你！这份坚持真的太让人佩服了！',
    '厉害厉害！这一步走得漂亮，继续闪闪发光吧！',
    '好消息收到！给你放一百个烟花🎉',
    '太厉害了！这份努力终于开花结果，恭喜！',
    '牛！说到做到，这就是实力！',
  ],
  neutral: [
    '这件事做得真漂亮，必须夸！',
    '也太厉害了吧，给你点一百个赞！',
    '被你圈粉了，这份用心值得全群鼓掌！',
    '认真生活的样子真好，继续保持呀！',
    '好会生活！小事也能做得这么好，佩服！',
    '你真的很棒，今天也是闪闪发光的一天！',
    '这份认真劲儿太难得了，夸你是应该的！',
    '我宣布，今天的夸夸冠军就是你！',
    '默默做好一件事的人最酷了，给你鼓掌！',
    '看到你这么用心，我也被激励到了，谢谢你的分享！',
  ],
};

/**
 * For a post that says nothing yet (求夸 alone, a greeting, emoji) and is not sad or anxious: a deed it does not name
 * would be made up, so these praise the asking and ask what to praise.
 */
export const BARE_ASK: readonly string[] = [
  '收到求夸信号！先夸为敬：敢大大方方要夸的人，心里都亮堂堂的。说说今天做了什么？',
  '夸夸已经装填完毕，就等你讲讲今天的事迹了。先预支一句：你超棒！',
  '来了来了！想被夸的心情本身就很可爱。讲讲最近发生了什么，全群排队夸你。',
  '先送你一朵小红花🌸 再悄悄问一句：今天有什么想被夸的小事？大的小的都算。',
  '不用理由也值得被夸：肯来这里要夸的人，对自己还有期待，这就很好。',
  '我宣布今天的夸夸名额给你留好了！说说你做了什么，保证夸得又具体又大声。',
  '夸你不用打草稿：知道累了要来充充电，就是很会照顾自己的人。愿意说说今天怎么样吗？',
  '想被夸就来，这份坦率先得一百分！剩下的分数，等你说说今天的小事再加。',
];

/**
 * For a post the reader reads as a joke that has nothing to quote (a joke question, teasing the group): they play along
 * and praise the humour, and never claim a deed the post does not name (这件事做得真漂亮 to 夸夸群都是假惺惺的).
 */
export const PLAYFUL: readonly string[] = [
  '脑回路清奇又可爱，欢乐指数瞬间被你拉满了！',
  '哈哈，玩笑开得既有分寸又有笑点，妥妥的天赋型选手。',
  '一句话就让整个群活了过来，气氛担当非你莫属。',
  '敢在夸夸群里这么俏皮，胆量和幽默感我们都要狠狠夸一夸！',
  '好奇心和幽默感双双在线，跟你聊天永远不会无聊。',
  '时机选得刚刚好，这份节奏感，说相声的见了都要来取经。',
  '论抖机灵的本事，群里怕是没人能比得过你。',
  '有你在，这个群就从来不怕冷场，谢谢你带来的快乐。',
  '反复读了好几遍，越品越有味道，这幽默感真是高级。',
  '幽默是智慧溢出来的样子，你这一出手，灵气藏都藏不住。',
  '如此有趣的灵魂，夸夸群要是不夸你，简直说不过去。',
  '笑点被你精准拿捏，提议由你出任本群首席快乐官。',
  '屏幕这头的我已经嘴角上扬，压都压不下去😄',
  '俏皮劲儿这么足，连空气都跟着变甜了，太招人喜欢啦。',
];

/** The frames that fit a post read with no reader, by the tone of its words. */
const FRAMES_BY_TONE: Record<Tone, readonly FrameKind[]> = {
  sad: ['sad', 'setback'],
  anxious: ['anxious'],
  encourage: ['anxious'],
  birthday: ['birthday'],
  achievement: ['achievement'],
  neutral: ['daily_win', 'effort'],
};

/**
 * The bright spots a comfort quotes before its intent's frames, first found first (src/brightSpots.ts): the next step
 * and how near it came, for any sad post; what was put in, for a setback or a tired day, not grief (养了两年的猫 is a
 * loss, not an effort); the years had with what was lost, for a sad post or a setback.
 */
const BRIGHT_SPOTS: { kind: BrightSpotKind; is: (clause: string) => boolean; fits: (intent?: Intent) => boolean }[] = [
  { kind: 'resolve', is: isResolve, fits: () => true },
  { kind: 'near', is: isNear, fits: () => true },
  { kind: 'spent', is: isSpent, fits: (intent) => intent === 'setback' || intent === 'tired_wronged' },
  { kind: 'bond', is: isBond, fits: (intent) => intent === 'sad' || intent === 'setback' },
];

/** How a fallback reply was made: a frame of the post's topic or of its intent around its own words, or a fixed tone template. */
export type FallbackForm = 'topical' | 'framed' | 'template';

export interface Framing {
  frames: Frames;
  /** The post reader's subject: the clause that holds it is the one quoted. */
  subject?: string;
  /** A phrase with a blocked word is never quoted back. */
  blocklist?: string[];
}

/**
 * A frame around a phrase of the post, unlike the chat's recent replies: for a sad post that names a bright spot
 * (BRIGHT_SPOTS: 明年再来吧, 训练了半年), one that comforts and takes it for the bright spot; else one of its topic and
 * mood when the phrase names a topic (data/frames/topics), else one of its intent (or its birthday); undefined when
 * none fits.
 */
function framedPraise(
  post: string,
  tone: Tone,
  intent: Intent | undefined,
  framing: Framing,
  avoid: string[],
  random: () => number,
): { text: string; form: 'topical' | 'framed' } | undefined {
  const quotable = (phrase: string | undefined) => (phrase && !(framing.blocklist && blockedWord(phrase, framing.blocklist)) ? phrase : undefined);
  const fresh = (frames: readonly string[], phrase: string) => frames.map((f) => fillFrame(f, phrase)).filter((t) => !avoid.some((a) => alike(a, t)));
  const pick = (texts: string[]) => (texts.length > 0 ? texts[Math.floor(random() * texts.length)] : undefined);
  const kindFrames = (kinds: readonly FrameKind[]) => kinds.flatMap((k) => framing.frames.byKind.get(k) ?? []);
  for (const spot of tone === 'sad' ? BRIGHT_SPOTS.filter((s) => s.fits(intent)) : []) {
    const clause = quotable(quotablePhrase(post, { only: spot.is }));
    const bright = clause && pick(fresh(kindFrames([spot.kind]), clause));
    if (bright) return { text: bright, form: 'framed' };
  }
  // A birthday frame wishes the birthday itself: the clause quoted is the rest of the post.
  const phrase = quotable(quotablePhrase(post, { subject: framing.subject, ...(tone === 'birthday' && { without: /生日|生辰/ }) }));
  if (!phrase) return undefined;
  const mood = tone === 'birthday' ? undefined : moodOf(intent, tone);
  // A worry's topic is often named beside the clause quoted (明天面试，好紧张): its frames calm about the topic, not the
  // clause, so the post's topic serves. Cheer and joke frames play on the clause itself (QUALITY.md, round v26).
  const topic = mood && (topicOf(phrase, framing.frames.topics) ?? (mood === 'worry' ? topicOf(post, framing.frames.topics) : undefined));
  const topical = topic && pick(fresh(topic.frames[mood], phrase));
  if (topical) return { text: topical, form: 'topical' };
  const birthday: FrameKind = aloneOnBirthday(post) && framing.frames.byKind.has('birthday_alone') ? 'birthday_alone' : 'birthday';
  const kinds: readonly FrameKind[] = tone === 'birthday' ? [birthday] : intent ? [intent] : FRAMES_BY_TONE[tone];
  const framed = pick(fresh(kindFrames(kinds), phrase));
  return framed ? { text: framed, form: 'framed' } : undefined;
}

/**
 * A reply that fits the post's tone: with `framing`, a frame around the post's own words when a phrase of it can be
 * quoted, else a template of the tone (BARE_ASK for a cheerful post that says nothing yet); not one of `avoid` (the
 * chat's recent replies) while another is left.
 */
export function fallbackPraise(
  post: string,
  avoid: string[] = [],
  random: () => number = Math.random,
  intent?: Intent,
  framing?: Framing,
): { text: string; tone: Tone; form: FallbackForm } {
  const tone = toneOf(post, intent);
  const framed = framing && framedPraise(post, tone, intent, framing, avoid, random);
  if (framed) return { ...framed, tone };
  const recent = new Set(avoid.map(textKey));
  const asksOnly = saysNothing(post) && (tone === 'neutral' || tone === 'achievement' || tone === 'encourage');
  const all = asksOnly ? BARE_ASK : intent === 'joke' ? PLAYFUL : BY_TONE[tone];
  const fresh = all.filter((t) => !recent.has(textKey(t)));
  const pool = fresh.length > 0 ? fresh : all;
  return { text: pool[Math.floor(random() * pool.length)]!, tone, form: 'template' };
}
