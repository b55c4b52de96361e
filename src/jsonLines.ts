import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One line of a data file: where it is, and its JSON (or `{unparsable}` with its start, for a checker to report). */
export interface RawLine {
  file: string;
  line: number;
  raw: unknown;
}

/**
 * Every non-empty line of the `.jsonl` files in `dir`, files in name order, parsed as JSON where it parses. The data
 * written for kuakua (data/praise, data/frames) is read through this; each schema and checker decides what is valid.
 */
export function readJsonLines(dir: string): RawLine[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((file) =>
      readFileSync(join(dir, file), 'utf8')
        .split('\n')
        .flatMap((text, i) => {
          if (!text.trim()) return [];
          const raw = parseJson(text);
          return [{ file, line: i + 1, raw: raw === undefined ? { unparsable: text.slice(0, 40) } : raw }];
        }),
    );
}

/** The JSON of `text`, or undefined when it does not parse (a schema then reports it as missing). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
