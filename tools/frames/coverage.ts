/**
 * How many of the douban group's post titles a topic frame could answer: of the titles with a phrase to quote
 * (src/quote.ts), the share whose phrase names a topic, and how many each topic takes. With a second frames directory,
 * also the titles that move from one topic to another, so that a new keyword's catch can be read before it ships
 * (data/frames/topics/README.md).
 *
 *   node --import tsx tools/frames/coverage.ts [--frames data/frames] [--before DIR] [--data-dir ../shared/data]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadFrames } from '../../src/frames.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { quotablePhrase } from '../../src/quote.ts';
import { type Topic, topicOf } from '../../src/topicFrames.ts';
import { doubanTitles } from '../reader/prepare.ts';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: join(PROJECT_ROOT, 'data/frames') },
    before: { type: 'string' },
    'data-dir': { type: 'string', default: join(PROJECT_ROOT, '../shared/data') },
  },
});

const phrases = doubanTitles(values['data-dir'])
  .map((t) => quotablePhrase(t))
  .filter((p): p is string => p !== undefined);

function cover(topics: readonly Topic[]) {
  const byPhrase = phrases.map((p) => topicOf(p, topics)?.id);
  const byTopic: Record<string, number> = {};
  for (const id of byPhrase) if (id) byTopic[id] = (byTopic[id] ?? 0) + 1;
  const named = byPhrase.filter(Boolean).length;
  return { byPhrase, summary: { quotable: phrases.length, named, share: +(named / phrases.length).toFixed(3), byTopic } };
}

const after = cover(loadFrames(values.frames).topics);
if (values.before) {
  const before = cover(loadFrames(values.before).topics);
  for (const [i, p] of phrases.entries()) {
    const [from, to] = [before.byPhrase[i], after.byPhrase[i]];
    if (from !== to) console.log(`${from ?? '-'} → ${to ?? '-'}\t${p}`);
  }
  console.log(JSON.stringify({ before: before.summary.share, after: after.summary.share }));
}
console.log(JSON.stringify(after.summary));
