import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';

/**
 * What a post is about, as a short span of it (驾照, 红烧肉, 面试), found by jieba's part-of-speech tags: the longest
 * content noun, else the last verb, leaving out the words every post has (求夸, 今天, 大家, people around the
 * poster). Measured against the labelled subjects in models/kuakua-reader/README.md. Loading the dictionary takes
 * about a second, so it happens in the reader's thread.
 */
const jieba = Jieba.withDict(dict);

const COMMON = new Set(
  (
    '求夸 夸我 夸夸 求表扬 求鼓励 求安慰 表扬 鼓励 安慰 今天 终于 大家 自己 时候 一下 东西 事情 感觉 真的 有点 什么 一个 现在 昨天 ' +
    '明天 今年 事 人 姐妹 姐妹们 朋友 同事 导师 老师 舍友 室友 家人 妈妈 爸爸 群友 宝子 小伙伴 你们 我们 觉得 开心 难过 高兴 求 夸 ' +
    '是 有 去 来 做 说 想 能 会 要 让 给 被 把 没 在 看 到 了 好 快 再 过 得 吗 呢 啊 哈哈 嘻嘻 呜呜 心情 样子 部分 地方 结果 小时 ' +
    '星期 问题 生活 日子 一天 时间 今晚 早上 晚上 下午 上午 周末'
  ).split(' '),
);
const NOUN = /^(n|nr|ns|nt|nz|nw|vn|eng|an|l|i)$/;
const VERB = /^(v|vn)$/;
const NOT_A_WORD = /^[\p{P}\p{S}\s\d]+$/u;
const MAX_CHARS = 12;

export function subjectOf(post: string): string | undefined {
  const words = jieba.tag(post).filter((w) => !COMMON.has(w.word) && !NOT_A_WORD.test(w.word) && [...w.word].length <= MAX_CHARS);
  const longest = words.filter((w) => NOUN.test(w.tag)).sort((a, b) => [...b.word].length - [...a.word].length)[0];
  return (longest ?? words.filter((w) => VERB.test(w.tag)).at(-1))?.word;
}
