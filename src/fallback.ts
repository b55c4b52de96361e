/**
 * Template praises for when no worker answered in time or every sampled reply was rejected.
 * Built from parts so a chat rarely sees the same sentence twice; when the post names something,
 * the praise quotes it so it sounds like it was written for this message.
 */
const OPENERS = ['哇', '天哪', '我宣布', '说真的', '不得不说', '太棒了', '好家伙', '啊啊啊', '必须夸', '果然是你'];

const ABOUT_POST = [
  '「{post}」这件事你都做到了，执行力真的让人佩服',
  '能把「{post}」说得这么轻描淡写，背后一定付出了很多努力',
  '「{post}」听起来就很不容易，你却稳稳拿下了',
  '看到「{post}」我就知道，你是那种说到做到的人',
  '「{post}」，这份认真和坚持值得全群起立鼓掌',
  '「{post}」这一步迈出去，已经比昨天的自己厉害太多了',
  '一句「{post}」，我看到了满满的行动力和好心态',
  '「{post}」这种事情换别人可能早就放弃了，你真的很坚韧',
];

const GENERIC = [
  '你今天也在认真生活，这本身就很了不起',
  '你的存在就让这个群变得更温暖了',
  '你身上那种不服输的劲儿真的太闪光了',
  '你认真的样子特别有魅力，继续保持',
  '你总能把平凡的日子过得闪闪发光',
  '能主动求夸的人，一定是对自己有要求、也懂得善待自己的人',
  '你的努力大家都看在眼里，真的超级厉害',
  '你的温柔和坚持，是这个群里最珍贵的宝藏',
];

const CLOSERS = ['！', '，给你点一百个赞！', '，全群为你骄傲！', '，今天的夸夸冠军就是你！', '，请收下我的膝盖！', '，继续闪闪发光吧！', '，未来可期！', '，太值得被夸了！'];

/** Whether the post is worth quoting (not the generic "求夸" and not too long to read naturally). */
function quotable(post: string, genericPost: string): boolean {
  return post !== genericPost && Array.from(post).length <= 30;
}

export function fallbackPraise(post: string, genericPost: string, avoid: string[] = [], random: () => number = Math.random): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  const bodies = quotable(post, genericPost) ? [...ABOUT_POST, ...GENERIC.slice(0, 2)] : GENERIC;
  const avoided = new Set(avoid);
  let text = '';
  for (let i = 0; i < 20; i++) {
    text = `${pick(OPENERS)}，${pick(bodies).replace('{post}', post)}${pick(CLOSERS)}`;
    if (!avoided.has(text)) break;
  }
  return text;
}
