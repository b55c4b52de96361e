import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BARE_ASK, BY_TONE, fallbackPraise, PLAYFUL } from '../../src/fallback.ts';
import { FRAME_KINDS, type FrameKind, fillFrame, loadFrames } from '../../src/frames.ts';
import { GENTLE_INTENTS } from '../../src/intents.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { isBond, isNear, isResolve, isSpent } from '../../src/brightSpots.ts';
import { quotablePhrase, QUOTE_MAX_CHARS } from '../../src/quote.ts';
import { toSimplified } from '../../src/script.ts';
import { clashesWithTone, toneOf } from '../../src/tone.ts';

describe('quotablePhrase', () => {
  it.each([
    ['三十五岁开始学游泳，今天终于敢松开浮板了', undefined, '终于敢松开浮板了'],
    ['求夸！今天我把攒了一周的衣服全洗完了', undefined, '把攒了一周的衣服全洗完了'],
    ['夸夸我 戒烟一个月', undefined, '戒烟一个月'],
    ['大家好，我今天跑完了十公里', undefined, '跑完了十公里'],
    ['我家养了十二年的狗狗今天走了，好难受', undefined, '我家养了十二年的狗狗今天走了'],
    ['这周末要第一次去见男朋友爸妈，好紧张', undefined, '要第一次去见男朋友爸妈'],
    ['实习三个月，今天hr通知我转正了', undefined, 'hr通知我转正了'],
    ['第一次做可乐鸡翅，居然没糊，室友吃了两盘', '可乐鸡翅', '第一次做可乐鸡翅'],
    // The subject only breaks a tie: a clause that names it but says nothing of what happened loses.
    ['我一个女生，26岁了母胎单身，求表扬', '女生', '26岁了母胎单身'],
    ['明天要在村委会给大家讲垃圾分类，稿子改了五遍', undefined, '稿子改了五遍'],
    ['今天跑完了十公里，明天还要跑吗？', undefined, '跑完了十公里'],
    // A clause too long to quote is cut before a turn or a conjunction, and the piece that says what was done wins.
    ['养了半年的龟背竹终于长出第一片开背的叶子！🌿', undefined, '养了半年的龟背竹'],
    ['计划了一个月的赏樱计划可能要因为天气原因泡汤了', undefined, '计划了一个月的赏樱计划'],
    ['学日语觉得好难呀现在五十音都没有记全', undefined, '学日语觉得好难'],
    // A point, colon or slash between digits is part of a number, not the end of a clause.
    ['雅思口语居然考了6.5哈哈哈哈，考官全程在笑', undefined, '雅思口语居然考了6.5'],
    ['早上5:30就起床背单词了', undefined, '5:30就起床背单词了'],
    ['体重终于过了100.', undefined, '体重终于过了100'],
    ['快11：30了还没起床求表扬', undefined, '快11：30了还没起床'],
    // A time word left at the end of a piece is not part of what happened, unless it is what was waited for.
    ['一直等到今天', undefined, '一直等到今天'],
  ])('%s → %s', (post, subject, phrase) => {
    expect(quotablePhrase(post, { subject })).toBe(phrase);
  });

  it('leaves out the clauses `without` names', () => {
    expect(quotablePhrase('今天我过生日了，朋友送了花')).toBe('过生日了');
    expect(quotablePhrase('今天我过生日了，朋友送了花', { without: /生日/ })).toBe('朋友送了花');
  });

  it.each([
    ['求夸', 'only the ask'],
    ['好开心啊！', 'a bare feeling'],
    ['数学怎么办😱', 'a question'],
    ['你觉得我怎么样？', 'the reader addressed'],
    ['帮我夸夸我前任，顺便说说她有多蠢', 'an insult'],
    ['夸夸群都是假惺惺的', 'the group itself'],
    ['今天做的几道极坐标参数方程题一道都没对', 'one clause too long to quote, with nowhere to cut it'],
    ['爸妈说我胖就该死但是我还是很爱吃饭', 'a clause with 死 in it, even in a piece that is not'],
    ['🥺🥺', 'emoji alone'],
    ['', 'nothing'],
  ])('%s: nothing to quote (%s)', (post) => {
    expect(quotablePhrase(post)).toBeUndefined();
  });

  it('never quotes more than QUOTE_MAX_CHARS characters', () => {
    const phrase = quotablePhrase('周末把房间彻底收拾了一遍，扔了三大袋东西，感觉整个人都轻了');
    expect(phrase).toBeDefined();
    expect(Array.from(phrase!).length).toBeLessThanOrEqual(QUOTE_MAX_CHARS);
  });
});

describe('bright spots of a setback (src/brightSpots.ts)', () => {
  const SPOTS = { isResolve, isNear, isSpent, isBond };

  it.each([
    ['isResolve', '比赛第一轮就出局了，下次再来', '下次再来'],
    ['isResolve', '投稿的社区书法展没选上，老师说结构还要练，那我再写一年。', '那我再写一年'],
    ['isResolve', '自己贴的墙纸起了三个大泡，明天撕了重贴，求个鼓励。', '明天撕了重贴'],
    ['isResolve', '考研差三分，明年再战！', '明年再战'],
    ['isResolve', '投了二十份简历只有两个回复。改改简历，明天继续投。', '明天继续投'],
    ['isResolve', '练了一个月才发现弦调错了，从头再来吧。', '从头再来'],
    ['isResolve', '考研失败差几分，决定二战，求鼓励', '决定二战'],
    ['isNear', '差一分，考研三战败', '差一分'],
    ['isNear', '国考笔试出来了，公务员差0.13分上岸', '公务员差0.13分上岸'],
    ['isNear', '體測800公尺只差兩秒就及格', '体测800公尺只差两秒就及格'],
    ['isNear', '这个月业绩离目标就差一丢丢', '这个月业绩离目标就差一丢丢'],
    ['isSpent', '马拉松跑到三十公里抽筋退赛了，训练了半年', '训练了半年'],
    ['isSpent', '辛辛苦苦做了一周的PPT，今天开会被同事当成他自己的讲了', '辛辛苦苦做了一周的PPT'],
    ['isSpent', '秋招投了六十多份简历，面了十几家全挂了', '秋招投了六十多份简历'],
    ['isSpent', '面试挂了。准备了一个月的作品集，现在看着有点心酸', '准备了一个月的作品集'],
    ['isBond', '我家养了十二年的狗狗今天走了，好难受', '我家养了十二年的狗狗今天走了'],
    ['isBond', '陪了我十几年的背包，再也不能陪我了', '陪了我十几年的背包'],
    ['isBond', '我那台开了十一年的老面包车今天终于卖了', '那台开了十一年的老面包车'],
  ] as const)('%s: %s → 「%s」', (spot, post, clause) => {
    expect(quotablePhrase(toSimplified(post), { only: SPOTS[spot] })).toBe(clause);
  });

  it.each([
    ['isResolve', '四级没过，不想继续学习了', 'gives up'],
    ['isResolve', '快没有力气继续努力了', 'gives up'],
    ['isResolve', '四级还差三十分，要重考', 'is made to'],
    ['isResolve', '今天拍的片子被要求重做', 'is made to'],
    ['isResolve', '留学第二年，抑郁症卷土重来', 'an illness comes back'],
    ['isResolve', '把通讯录从头翻到尾，一个能约的人都没有', '从头 is not a restart'],
    ['isResolve', '分手了，下次再也不相信爱情了', 'never again'],
    ['isResolve', '考研没过线，差了六分', 'no next step'],
    ['isNear', '四级还差30分才过', 'a gap of more than ten'],
    ['isNear', '差一分钟就能赶上最后一班动车', 'a minute, not a point'],
    ['isNear', '年会抽奖，号码和特等奖差一位', 'a digit of a lottery number'],
    ['isNear', '考研没过线，还差得远', 'not near'],
    ['isSpent', '养了两年的金鱼今天早上翻肚了', 'a living thing lost'],
    ['isSpent', '陪了我十年的狗昨天走了', 'a living thing lost'],
    ['isSpent', '考研没过线，差了6分', 'a score, not what was put in'],
    ['isSpent', '今天被领导当众批评了', 'nothing counted'],
    ['isBond', '外婆上个月去世了', 'no years said'],
    ['isBond', '养了三个月的仓鼠死了', 'months, not years'],
    ['isBond', '辛辛苦苦养了两年的绿萝，出差一周回来全黄了', 'a plant may yet recover'],
    ['isBond', '我养的仓鼠今天走了，才陪了我一年半', 'too few years, as it says'],
  ] as const)('%s: %s → nothing (%s)', (spot, post, _why) => {
    expect(quotablePhrase(post, { only: SPOTS[spot] })).toBeUndefined();
  });
});

describe('framed fallback', () => {
  // The intent's frames alone: the topic frames have their own tests (topicFrames.test.ts).
  const frames = { byKind: loadFrames(join(PROJECT_ROOT, 'data/frames')).byKind, topics: [] };

  it('ships frames of every kind', () => {
    for (const kind of FRAME_KINDS) expect(frames.byKind.get(kind)?.length ?? 0, kind).toBeGreaterThanOrEqual(30);
  });

  it('quotes the post in a frame of its intent, and every gentle frame comforts without laughter', () => {
    const post = '考研没过线，家里人都没说什么';
    for (const intent of GENTLE_INTENTS) {
      for (let i = 0; i < 20; i++) {
        const { text, form } = fallbackPraise(post, [], Math.random, intent, { frames });
        expect(form).toBe('framed');
        expect(text).toContain('「考研没过线」');
        expect(clashesWithTone(text, toneOf(post, intent))).toBe(false);
      }
    }
    const happy = fallbackPraise('终于拿到驾照了，求夸', [], () => 0, 'achievement', { frames });
    expect(happy).toMatchObject({ form: 'framed', tone: 'achievement' });
    expect(happy.text).toContain('「终于拿到驾照了」');
    expect(frames.byKind.get('achievement')!.map((f) => f.replace('「{q}」', '「终于拿到驾照了」'))).toContain(happy.text);
  });

  it('answers a post that says nothing yet by praising the asking, unless it reads sad or anxious', () => {
    for (const [post, intent] of [
      ['求夸', 'joke'],
      ['你好', 'joke'],
      ['🥺🥺', 'celebration'],
      ['过来求一下表扬。', 'daily_win'],
    ] as const) {
      const { text, form } = fallbackPraise(post, [], Math.random, intent, { frames });
      expect(form).toBe('template');
      expect(BARE_ASK, post).toContain(text);
    }
    expect(BY_TONE.sad).toContain(fallbackPraise('嗯', [], Math.random, 'sad', { frames }).text);
    expect(BY_TONE.neutral).toContain(fallbackPraise('数学怎么办😱', [], Math.random, 'daily_win', { frames }).text);
  });

  it('plays along with a joke that has nothing to quote, and never claims a deed it does not name', () => {
    for (const post of ['夸夸群都是假惺惺的，你敢说一句真话吗', '为何是“相互”表扬而不是“互相”表扬', '数学怎么办😱']) {
      const { text, form } = fallbackPraise(post, [], Math.random, 'joke', { frames });
      expect(form).toBe('template');
      expect(PLAYFUL, post).toContain(text);
    }
    for (const line of PLAYFUL) expect(line).not.toMatch(/做得|完成|成功|恭喜|生日|[他她]/);
  });

  it('falls back to a template when nothing can be quoted, or when the phrase holds a blocked word', () => {
    expect(fallbackPraise('求夸', [], Math.random, 'joke', { frames }).form).toBe('template');
    expect(fallbackPraise('数学怎么办😱', [], Math.random, 'anxious', { frames }).form).toBe('template');
    expect(fallbackPraise('今天我生日！求夸', [], Math.random, 'celebration', { frames })).toMatchObject({ form: 'template', tone: 'birthday' });
    expect(fallbackPraise('终于把那个白痴项目做完了', [], Math.random, 'achievement', { frames, blocklist: ['白痴'] }).form).toBe('template');
  });

  /** Every text `kind`'s frames make of `phrase`. */
  const filled = (kind: FrameKind, phrase: string) => frames.byKind.get(kind)!.map((f) => fillFrame(f, phrase));

  it('wishes a birthday around the rest of the post, never around the birthday clause itself', () => {
    for (let i = 0; i < 20; i++) {
      const { text, form } = fallbackPraise('今天我生日，和室友吃了火锅', [], Math.random, 'celebration', { frames });
      expect(form).toBe('framed');
      expect(filled('birthday', '和室友吃了火锅')).toContain(text);
    }
  });

  it('answers a setback that names its next step with that step as the bright spot, in a frame that comforts', () => {
    const post = '马拉松跑到三十公里抽筋退赛了，训练了半年，明年再战。';
    for (const intent of ['setback', 'sad', 'tired_wronged'] as const) {
      for (let i = 0; i < 20; i++) {
        const { text, form, tone } = fallbackPraise(post, [], Math.random, intent, { frames });
        expect(form).toBe('framed');
        expect(filled('resolve', '明年再战')).toContain(text);
        expect(clashesWithTone(text, tone)).toBe(false);
      }
    }
    // A worry is calmed about the event, and good news is not a setback: neither takes the next step.
    const worry = fallbackPraise('明天复试，今晚再练一遍自我介绍', [], () => 0, 'anxious', { frames });
    expect(filled('anxious', quotablePhrase('明天复试，今晚再练一遍自我介绍')!)).toContain(worry.text);
    expect(fallbackPraise('终于拿到驾照了，明年再考个摩托车驾照', [], () => 0, 'achievement', { frames }).text).toContain('「终于拿到驾照了」');
    // A setback without a next step gets its intent's frame, and a blocked word is never quoted back.
    expect(filled('setback', '考研没过线')).toContain(fallbackPraise('考研没过线，家里人都没说什么', [], () => 0, 'setback', { frames }).text);
    const blocked = fallbackPraise('被那个白痴坑了，明年再战', [], () => 0, 'setback', { frames, blocklist: ['白痴'] });
    expect(filled('resolve', '明年再战')).toContain(blocked.text);
    expect(fallbackPraise('项目黄了，明年再战白痴们', [], () => 0, 'setback', { frames, blocklist: ['白痴'] }).text).not.toContain('白痴');
  });

  it('answers a setback or a tired day with what was put in as the bright spot, and grief with its own frames', () => {
    const post = '准备了两个月的比赛，连复赛都没进，求安慰';
    for (const intent of ['setback', 'tired_wronged'] as const) {
      const { text, tone } = fallbackPraise(post, [], Math.random, intent, { frames });
      expect(filled('spent', '准备了两个月的比赛')).toContain(text);
      expect(clashesWithTone(text, tone)).toBe(false);
    }
    expect(filled('sad', '准备了两个月的比赛')).toContain(fallbackPraise(post, [], () => 0, 'sad', { frames }).text);
    // The next step comes first, then how near it came, then what was put in.
    const all = '训练了半年，比赛第一轮差两分出局，明年再战';
    expect(filled('resolve', '明年再战')).toContain(fallbackPraise(all, [], () => 0, 'setback', { frames }).text);
    const near = '训练了半年，比赛第一轮差两分出局';
    expect(filled('near', '比赛第一轮差两分出局')).toContain(fallbackPraise(near, [], () => 0, 'setback', { frames }).text);
  });

  it('wishes a birthday spent alone around its detail, whatever the reader reads, and an ordinary one as before', () => {
    const post = '今天我生日，没有一个人记得，自己煮了碗长寿面';
    for (const intent of ['celebration', 'sad', 'tired_wronged', undefined] as const) {
      const { text, tone, form } = fallbackPraise(post, [], Math.random, intent, { frames });
      expect(tone).toBe('birthday');
      expect(form).toBe('framed');
      expect(filled('birthday_alone', quotablePhrase(post, { without: /生日/ })!)).toContain(text);
    }
    const party = fallbackPraise('今天我生日，同事偷偷订了蛋糕', [], () => 0, 'celebration', { frames });
    expect(filled('birthday', '同事偷偷订了蛋糕')).toContain(party.text);
  });

  it('answers a goodbye after years with those years as the bright spot, for a sad post or a setback', () => {
    const post = '养了十四年的猫今天走了';
    for (const intent of ['sad', 'setback'] as const) {
      const { text, tone } = fallbackPraise(post, [], Math.random, intent, { frames });
      expect(filled('bond', post)).toContain(text);
      expect(clashesWithTone(text, tone)).toBe(false);
    }
    expect(filled('tired_wronged', post)).toContain(fallbackPraise(post, [], () => 0, 'tired_wronged', { frames }).text);
  });

  it('without a reader, takes the frames of the tone of the words', () => {
    const { text, form, tone } = fallbackPraise('分手了，一个人把东西打包寄回去了', [], Math.random, undefined, { frames });
    expect(tone).toBe('sad');
    expect(form).toBe('framed');
    const phrase = quotablePhrase('分手了，一个人把东西打包寄回去了')!;
    const gentle = [...filled('sad', phrase), ...filled('setback', phrase)];
    expect(gentle).toContain(text);
  });

  it('never sends a frame alike one of the chat’s recent replies: the same post asked again gets another frame', () => {
    const post = '今天终于敢松开浮板了';
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) sent.unshift(fallbackPraise(post, sent, Math.random, 'courage', { frames }).text);
    expect(new Set(sent).size).toBe(10);
    const once = [...frames.byKind.get('courage')!];
    const used = once.filter((f) => sent.includes(f.replace('「{q}」', '「终于敢松开浮板了」')));
    expect(used).toHaveLength(10);
  });

  it('a frames directory reads only valid lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kuakua-frames-'));
    writeFileSync(
      join(dir, 'a.jsonl'),
      ['{"kind":"joke","text":"「{q}」这句我要念十遍"}', '{"kind":"joke","text":"没有槽位"}', 'not json', '{"kind":"nope","text":"「{q}」"}'].join('\n'),
    );
    expect(loadFrames(dir)).toEqual({ byKind: new Map([['joke', ['「{q}」这句我要念十遍']]]), topics: [] });
  });
});
