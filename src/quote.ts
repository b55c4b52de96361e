import { textKey } from '../common/textKey.ts';

/**
 * The phrase of a post worth quoting back to its writer (「终于敢松开浮板了」): one clause of it, without the ask
 * (求夸, 快来夸我), the opening 我 or time words, trailing particles and emoji; the clause that holds the post's
 * subject, else the one that says what was done. Undefined when no clause is short and plain enough to quote.
 */

/** The ask and the audience: never part of what was done. */
const ASK =
  /(?:给我|给点|来点)(?:一点|一些|点)?(?:好运|鼓励|力量|勇气|信心|打气|安慰|掌声)|求(?:一下|一个|个|点)?(?:夸夸?|表扬|鼓励|安慰|打气|抱抱?|加油|赞|关注|点赞)|(?:快来|来|请|求大家|大家)?夸夸?(?:我|一下我?|下我)|夸夸|表扬(?:我|一下)|鼓励(?:我|一下)|安慰(?:我|一下)|(?:大家|各位|家人们|姐妹们|朋友们|兄弟们|群友们)好/g;
/** Punctuation between clauses; a point, colon, slash or dash between two digits (6.5, 10:30, 8：06, 7/2) is part of a number. */
const SPLIT = /(?:[，,。！!？?；;~～…\s()（）【】[\]<>|\\—]|(?<!\d)[.:：/-]|[.:：/-](?!\d))+/;
/** An opening that is not the deed: the writer, the time, a conjunction. Stripped again and again. */
const OPENING =
  /^(?:我们|我(?![的家妈爸哥姐弟妹老们])|俺|本人|今天|今日|昨天|昨晚|前天|刚刚|刚才|刚|今早|今晚|早上|晚上|上午|下午|中午|这周末|周末|这周|本周|上周|最近|现在|然后|而且|所以|因为|结果|但是|但|可是|不过|话说|嗯|啊|哇|哈+|嘿+)(?!的)/;
/**
 * Where a clause too long to quote is cut: before a turn or a conjunction, then after an interjection. Each piece is
 * weighed like a clause of its own (「养了半年的龟背竹终于长出第一片开背的叶子」 → 「养了半年的龟背竹」).
 */
const BREAKS = [/(?=但是|但(?!愿)|可是|可能|因为|所以|结果|然后|居然|竟然|现在|终于)/, /(?<=[呀啊啦])/];
const TRAILING = /(?:啦|呀|啊|哦|噢|呢|吧|嘛|耶|咯|喔|哟|哈|嘿|嘻|呜|诶|欸)+$/;
/** A time word left at the end when a long clause is cut before its turn (老面包车今天|终于卖了); not 等到今天. */
const TRAILING_TIME = /(?<!到)(?:今天|今日|今早|今晚|昨天|昨晚)$/;
/** A bare feeling says nothing of what happened. */
const BARE_FEELING =
  /^(?:好|太|超|真|特别|非常|有点|很)?(?:开心|高兴|激动|难过|伤心|累|烦|丧|崩溃|幸福|满足|骄傲|爽|棒|厉害|感动|委屈|想哭|紧张)(?:了|啊|死了|极了)?$/;
/** Never quoted back: the reader addressed, a question, the ask, insults, death, the group itself. */
const UNQUOTABLE = /你|吗|怎么|什么|为何|为什么|咋|夸|表扬|骂|蠢|傻|笨|丑|假|垃圾|滚|死|群/;
/** Signs that a clause says what was done. */
const DEED = /了|完|过|终于|第一次|成功|学会|坚持|拿到|做|考|跑|写|画|买|修|换|练|打卡|养|种|读/g;
const HAN = /\p{Script=Han}/gu;

export const QUOTE_MAX_CHARS = 16;

const GREETING = /你好|您好|在吗|在不在|哈喽|嗨|早安|晚安/g;

/** A post that says nothing but the ask, a greeting or emoji (求夸, 你好, 🥺🥺): nothing to praise yet. */
export function saysNothing(post: string): boolean {
  const rest = post.replace(ASK, '').replace(GREETING, '');
  return (rest.match(HAN)?.length ?? 0) < 3 && !/[a-z]{2,}/i.test(rest);
}

function clauses(post: string): { text: string; question: boolean }[] {
  const bare = post
    .replace(/https?:\/\/\S+/g, ' ')
    .replace(/[@＠]\S+/g, ' ')
    .replace(/\/[a-z_]+/gi, ' ')
    .replace(/\p{Extended_Pictographic}/gu, ' ')
    .replace(ASK, '，');
  const out: { text: string; question: boolean }[] = [];
  const re = new RegExp(SPLIT.source, 'g');
  let start = 0;
  for (const m of bare.matchAll(re)) {
    out.push({ text: bare.slice(start, m.index), question: /[？?]/.test(m[0]) });
    start = m.index + m[0].length;
  }
  out.push({ text: bare.slice(start), question: false });
  return out;
}

/** A clause, or the pieces of one too long to quote. */
function pieces(clause: string, breaks = BREAKS): string[] {
  const [cut, ...rest] = breaks;
  if (!cut || Array.from(clause).length <= QUOTE_MAX_CHARS) return [clause];
  return clause.split(cut).flatMap((p) => pieces(p, rest));
}

function trimmed(clause: string): string {
  let text = clause.trim();
  for (let before = ''; before !== text; ) {
    before = text;
    text = text.replace(OPENING, '').replace(TRAILING, '').replace(TRAILING_TIME, '').trim();
  }
  return text;
}

export interface QuoteOptions {
  /** The post reader's subject: the clause that holds it is preferred. */
  subject?: string;
  /** Clauses to leave out, such as the one that says what the frame says already (生日). */
  without?: RegExp;
  /** Only a clause that passes is quoted (a bright spot of a setback: src/brightSpots.ts). */
  only?: (clause: string) => boolean;
}

export function quotablePhrase(post: string, o: QuoteOptions = {}): string | undefined {
  let best: { text: string; score: number } | undefined;
  for (const [at, { text: whole, question }] of clauses(post).entries()) {
    if (question || UNQUOTABLE.test(whole)) continue;
    for (const piece of pieces(trimmed(whole))) {
      const text = trimmed(piece);
      const han = text.match(HAN)?.length ?? 0;
      const chars = Array.from(text).length;
      if (han < 3 || chars > QUOTE_MAX_CHARS || o.without?.test(text) || BARE_FEELING.test(textKey(text))) continue;
      if (o.only && !o.only(text)) continue;
      // The news usually comes first: a later clause needs a little more to win.
      const score =
        (o.subject && text.includes(o.subject) ? 0.5 : 0) + Math.min(2, text.match(DEED)?.length ?? 0) + (chars >= 4 && chars <= 12 ? 1 : 0) - 0.2 * at;
      if (!best || score > best.score) best = { text, score };
    }
  }
  return best?.text;
}
