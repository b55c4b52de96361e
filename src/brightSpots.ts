/**
 * The bright spots a post about a setback names in its own words, for a comfort to quote (src/fallback.ts): what its
 * writer will do next, how near they came, what they had put in before it went wrong, and the years they had with what
 * they lost. Each tests one clause (src/quote.ts, `only`).
 */

/**
 * A clause that says what the writer will do next after a setback (明年再来吧, 明天撕了重贴, 下次换个位置试试); not when
 * it gives up or is made to (不想再试, 又要重新报名了, 没力气继续了).
 */
const NOT_WILLING = '(?<!不想|不会|不要|不能|不敢|不用|无法|没法|可能|不允许我|还|要|得|不)';
const RESOLVE = new RegExp(
  [
    `${NOT_WILLING}(?:再|重新)(?:来|战|试|考|投|写|练|做|贴|改|学|跑|出发|努力|冲|拼|挑战|报|开始|画|种|养|烤|找|卖|爬|读|背|刷|拍|剪|织|接再厉|坚持)`,
    `${NOT_WILLING}(?:继续|接着)(?:努力|加油|投|找|卖|写|练|学|跑|冲|试|坚持|前进|爬)`,
    `(?<!卷土|要|得)重来|(?<!要|求|得)重(?:贴|做|写|练|画|拍|烤|织)|从头(?=再|开始|来|起|学|练|做|写)|不放弃|走起|苦练|换个|换家|(?:想|决定|准备|要|打算)[二三四]战`,
    '(?:明年|下年|下[次回]|下一(?:次|回|场|轮|篇|站))(?![不别就要]|再也)',
  ].join('|'),
);
const GIVES_UP = /没有?力气|不下去|撑不住|放不下|失败|挂了/;

/** A clause that says what the writer will do next (RESOLVE), not one where they give up. */
export function isResolve(clause: string): boolean {
  return RESOLVE.test(clause) && !GIVES_UP.test(clause);
}

/**
 * A clause that says the line was missed by a hair (差一分, 公务员差0.13分上岸, 只差1分就进复面了): the closeness is the
 * bright spot. Not a gap of more than ten (四级还差30分).
 */
const NEAR =
  /差了?(?:[一两二三四五六七八九半几]|十(?![一二三四五六七八九])|\d(?:\.\d+)?|0\.\d+|10)(?![\d.])(?:个)?(?:分(?!钟)|名|秒|票)|(?:只|就|仅)差(?:一点|一步|一口气|一丢丢|一点点)/;

/** A clause that says how near the writer came (NEAR). */
export function isNear(clause: string): boolean {
  return NEAR.test(clause);
}

/**
 * A clause that says what was put in before a setback, as a span of time or a count (训练了半年, 投了六十多份简历,
 * 辛辛苦苦做了一周的PPT): those days are the bright spot. Not a living thing's years (养了两年的金鱼), which is grief,
 * nor a clause that holds the failure too (坚持了一天就失败了).
 */
const SPENT =
  /(?:练|准备|做|学|投|跑|坚持|写|画|复习|备考|训练|开|织|拼|弹|背|刷|改|熬|攒|排练|研究|打磨|经营|带|磨|拍|剪|跟)了(?:整整|快|近|将近|足足|大半|小半)?(?!一[次遍份篇稿张版])[一二两三四五六七八九十百千半几\d]+(?:个)?整?多?(?:月|年|天|周|星期|礼拜|小时|晚上?|夜|次|遍|份|篇|稿|万字|张|版)/;
const NOT_SPENT = /没了|走了|死|翻肚|去世|离开|手术|住院|失败|挂|没过|没进|没有进|不过|被拒|拒了|毁|丢|只有|要收|关门|倒闭/;

/** A clause that says what was put in (SPENT), not one of a loss or of the failure itself. */
export function isSpent(clause: string): boolean {
  return SPENT.test(clause) && !NOT_SPENT.test(clause);
}

/**
 * A clause that says how many years the writer had with what they lost (养了十二年的狗狗今天走了, 陪了我十二年的旧电脑,
 * 住了八年的老房子): those years are the bright spot of a goodbye. Not 才陪了我一年半, which says they were too few.
 */
const BOND = /(?<!才)(?:养|陪|用|住|开|戴|骑|穿|留|守|带|跟)了(?:我们|我家|我)?(?:整整|快|近|将近|足足)?[一二两三四五六七八九十百几\d]+(?:个)?多?年/;
/** A plant that yellows may yet recover: not a goodbye. */
const NOT_BOND = /绿萝|多肉|花|草|树|苗/;

/** A clause that says how long the writer had what they lost (BOND), not a plant. */
export function isBond(clause: string): boolean {
  return BOND.test(clause) && !NOT_BOND.test(clause);
}
