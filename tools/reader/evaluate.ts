/**
 * Reads the held-out test split (tools/reader/prepare.ts) and the tone traps (eval/tone-traps.json) with one or more
 * post readers, as the core reads a post (the int8 file the bot runs, the core's gentle floor, the distress patterns
 * as the floor), so that a retrained reader can be compared with the shipped one on the same rows.
 *
 *   node --import tsx tools/reader/evaluate.ts --reader models/kuakua-reader --reader .model-cache/other [--data-dir ../shared/data]
 *     [--labels data/reader] [--check eval/reader-check]
 *
 * Prints one row per reader: intent accuracy, the gentle-against-the-rest accuracy a reply depends on, distress
 * recall and precision, the share of look-alikes, of happy posts and of all harmless posts sent the care reply, and
 * how many tone traps get what they need (praise, comfort, care). `--check DIR` reads every labelled post of DIR
 * instead of the test split: posts written after the reader was trained (eval/reader-check/README.md).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultDistressConfig } from '../../src/config.ts';
import { GENTLE_INTENTS, INTENTS, type Intent } from '../../src/intents.ts';
import { PROJECT_ROOT } from '../../src/projectRoot.ts';
import { type Reading, readPost } from '../../src/reading.ts';
import { startPostReader } from '../../worker/engine/postReader.ts';
import { type PreparedRow, prepare } from './prepare.ts';

type Need = 'praise' | 'comfort' | 'care';

const gentle = (intent: Intent | undefined) => intent !== undefined && GENTLE_INTENTS.includes(intent);
const share = (n: number, of: number) => +(of ? n / of : 0).toFixed(3);

/** What a reading answers with: the care reply, comfort (a gentle intent), or praise. */
function answer(r: Reading): Need {
  return r.distress ? 'care' : gentle(r.intent) ? 'comfort' : 'praise';
}

async function evaluate(dir: string, test: PreparedRow[], traps: { post: string; needs: Need }[]) {
  const reader = await startPostReader(dir);
  const distress = defaultDistressConfig();
  const read = (text: string) => readPost(text, { reader, distress, timeoutMs: 10_000 });
  try {
    const rows = [];
    for (const r of test) rows.push({ r, got: await read(r.text) });
    const flagged = rows.filter((x) => x.got.distress);
    const distressRows = rows.filter((x) => x.r.distress);
    const lookalikes = rows.filter((x) => x.r.lookalike);
    const harmless = rows.filter((x) => !x.r.distress);
    const happy = harmless.filter((x) => !gentle(INTENTS[x.r.intent]));
    let trapsRight = 0;
    for (const t of traps) if (answer(await read(t.post)) === t.needs) trapsRight++;
    return {
      reader: dir,
      posts: rows.length,
      intent: share(rows.filter((x) => x.got.intent === INTENTS[x.r.intent]).length, rows.length),
      gentleVsRest: share(rows.filter((x) => gentle(x.got.intent) === gentle(INTENTS[x.r.intent])).length, rows.length),
      distressRecall: share(distressRows.filter((x) => x.got.distress).length, distressRows.length),
      distressPrecision: share(flagged.filter((x) => x.r.distress).length, flagged.length),
      lookalikesFlagged: share(lookalikes.filter((x) => x.got.distress).length, lookalikes.length),
      happyFlagged: share(happy.filter((x) => x.got.distress).length, happy.length),
      harmlessFlagged: share(harmless.filter((x) => x.got.distress).length, harmless.length),
      traps: `${trapsRight}/${traps.length}`,
    };
  } finally {
    await reader.close();
  }
}

/** Every labelled post of a check directory, none left out for a split; a row that does not parse stops the run. */
function checkRows(dataDir: string, dir: string): PreparedRow[] {
  const { train, test, problems } = prepare(dataDir, dir);
  if (problems.length > 0) throw new Error(`${dir}: ${problems.join('; ')}`);
  return [...train, ...test];
}

async function main() {
  const { values } = parseArgs({
    options: {
      reader: { type: 'string', multiple: true, default: [join(PROJECT_ROOT, 'models/kuakua-reader')] },
      'data-dir': { type: 'string', default: join(PROJECT_ROOT, '../shared/data') },
      labels: { type: 'string', default: join(PROJECT_ROOT, 'data/reader') },
      check: { type: 'string' },
    },
  });
  const rows = values.check ? checkRows(values['data-dir'], values.check) : prepare(values['data-dir'], values.labels, join(PROJECT_ROOT, 'data/praise')).test;
  const traps = JSON.parse(readFileSync(join(PROJECT_ROOT, 'eval/tone-traps.json'), 'utf8')) as { post: string; needs: Need }[];
  const results = [];
  for (const dir of values.reader) results.push(await evaluate(resolve(dir), rows, traps));
  console.table(results);
  for (const r of results) console.log(JSON.stringify(r));
}

await main();
