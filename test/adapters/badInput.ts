import { Queue } from 'bullmq';
import type { AppConfig } from '../../src/app/config.ts';
import type { Stack } from './stack.ts';

/** Nothing is left of the text once cleaned and stripped of trigger words: the models are asked to praise `triggers.genericPost`. */
export const GENERIC: unique symbol = Symbol('triggers.genericPost');

/** What the core makes of one bad input, whatever the platform it came from. */
export interface BadInputFacts {
  /** The post the models are asked to praise when the text triggers: cleaned, trigger words taken out, cut to 300 characters. */
  post: string | typeof GENERIC;
  /** Whether the text asks by itself (holds a trigger word once cleaned), so that it triggers in a group without a mention. */
  asks: boolean;
}

/** The bad-input table every adapter test runs: [case name, message text, what the core makes of it]. */
export const BAD_INPUTS = [
  ['empty', '', { post: GENERIC, asks: false }],
  ['whitespace only', ' \t\n　 ', { post: GENERIC, asks: false }],
  ['100 000 characters', '夸'.repeat(50_000) + 'a'.repeat(50_000), { post: '夸'.repeat(300), asks: false }],
  // The zero-width joiners inside the family emoji are taken out with the other invisible characters.
  ['only emoji', '🎉👍🏽👨‍👩‍👧‍👦🇨🇳', { post: '🎉👍🏽👨👩👧👦🇨🇳', asks: false }],
  ['zero-width and RTL marks', '\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202e求夸\u202c', { post: GENERIC, asks: true }],
  ['control characters', '\u0000\u0001\u0007\u001b[31m\u007f求夸\r\n', { post: '[31m', asks: true }],
  // Each lone surrogate becomes U+FFFD, which also keeps 求 and 夸 apart: no trigger word.
  ['lone UTF-16 surrogates', '\ud800求\udfff夸\ud83d', { post: '\ufffd求\ufffd夸\ufffd', asks: false }],
  // Markup is text like any other; the closing ';' goes with the punctuation at the edges.
  [
    'HTML and script',
    '<script>alert("x")</script><img src=x onerror=alert(1)> 求夸 &amp; &lt;',
    { post: '<script>alert("x")</script><img src=x onerror=alert(1)> &amp; &lt', asks: true },
  ],
  ['all trigger words', '求夸夸我求表扬求鼓励'.repeat(50), { post: GENERIC, asks: true }],
] as const satisfies readonly (readonly [string, string, BadInputFacts])[];

export type BadInputName = (typeof BAD_INPUTS)[number][0];

/** The post `facts` says the models get, under `config`. */
export const expectedPost = (facts: BadInputFacts, config: AppConfig): string => (facts.post === GENERIC ? config.triggers.genericPost : facts.post);

/** The post the worker was asked to praise for message `messageId`, read from its finished praise job. */
export async function askedPost(stack: Stack, messageId: string): Promise<string | undefined> {
  const requests = new Queue(stack.config.queue.name, { connection: { url: stack.config.secrets.redisUrl }, prefix: stack.config.redis.prefix });
  try {
    const jobs = await requests.getJobs(['completed']);
    return jobs.find((j) => j.data.messageId === messageId)?.data.post;
  } finally {
    await requests.close();
  }
}
