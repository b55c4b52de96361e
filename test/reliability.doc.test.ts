import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * RELIABILITY.md says, row by row, which test proves each claim. This test holds it to that.
 *
 * Citation format, in the `Test` cell of a table row:
 *   `test/web/api.test.ts` › "a test name", "a name cut short …"; `api.test.ts` › "another name"
 * - A file in backticks: its path from the repository root, or its bare name when that file was cited with its path
 *   earlier in the document (the nearest such citation counts). Backticked text that is not a `.test.ts` file is free.
 * - Then `›` and test names in double quotes (`\"` for a quote inside a name). A name is an `it`/`test` title, or a
 *   `describe` title standing for all its tests, as written in the source (`%s` placeholders included); one ending in
 *   `…` stands for every title that starts with the text before it. A file with no names stands for all its tests.
 * - Other words ("Core:", "(table)") are free text; a quoted name belongs to the file cited last in the same cell.
 * Every table has a Test column, and every row cites at least one test, except the tables of the sections in
 * UNCHECKED, whose figures come from benchmark runs that CI does not repeat.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const UNCHECKED = new Set(['Load']);
/** Stands for `${…}` in a template-literal title: any text. */
const ANY = '\u0000';

interface Table {
  section: string;
  header: string[];
  rows: { line: number; cells: string[] }[];
}

function cellsOf(row: string): string[] {
  return row
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** The tables of a Markdown text, each with the `##`/`###` heading it sits under. */
function tablesOf(markdown: string): Table[] {
  const tables: Table[] = [];
  let section = '';
  let current: Table | undefined;
  markdown.split('\n').forEach((text, i) => {
    const heading = /^#{2,3}\s+(.*)$/.exec(text);
    if (heading) section = heading[1]!.trim();
    if (!text.trimStart().startsWith('|')) {
      current = undefined;
      return;
    }
    if (!current) {
      current = { section, header: cellsOf(text), rows: [] };
      tables.push(current);
    } else if (!/^\|?[\s:|-]+$/.test(text.trim())) current.rows.push({ line: i + 1, cells: cellsOf(text) });
  });
  return tables;
}

interface Citation {
  file: string;
  names: string[];
}

/** The files and names a Test cell cites; `paths` maps bare file names to the path cited last, and is updated. */
function citationsOf(cell: string, paths: Map<string, string>): { citations: Citation[]; problems: string[] } {
  const citations: Citation[] = [];
  const problems: string[] = [];
  for (let i = 0; i < cell.length; i++) {
    const c = cell[i];
    if (c === '`') {
      const end = cell.indexOf('`', i + 1);
      if (end < 0) break;
      const code = cell.slice(i + 1, end);
      i = end;
      if (!/(^|\/)[\w.-]+\.test\.ts$/.test(code)) continue;
      const file = code.includes('/') ? code : paths.get(code);
      if (code.includes('/')) paths.set(basename(code), code);
      if (!file) problems.push(`\`${code}\`: a bare file name with no earlier citation of its path`);
      citations.push({ file: file ?? code, names: [] });
    } else if (c === '"') {
      let name = '';
      for (i++; i < cell.length && cell[i] !== '"'; i++) name += cell[i] === '\\' ? cell[++i] : cell[i];
      const last = citations.at(-1);
      if (last) last.names.push(name);
      else problems.push(`"${name}": a test name with no file before it`);
    }
  }
  return { citations, problems };
}

/** Where a quoted string literal or template literal starting at `i` ends (the index after it), and its text. */
function readLiteral(src: string, i: number): { end: number; text: string } {
  const quote = src[i]!;
  let text = '';
  for (let j = i + 1; j < src.length; j++) {
    const c = src[j]!;
    if (c === '\\') {
      const escaped = /^(u\{[\da-f]+\}|u[\da-f]{4}|x[\da-f]{2}|[\s\S])/i.exec(src.slice(j + 1))![1]!;
      const code = /^u\{?([\da-f]+)\}?$|^x([\da-f]{2})$/i.exec(escaped);
      text += code ? String.fromCodePoint(Number.parseInt(code[1] ?? code[2]!, 16)) : ({ n: '\n', t: '\t' }[escaped] ?? escaped);
      j += escaped.length;
    } else if (c === quote) return { end: j + 1, text };
    else if (quote === '`' && c === '$' && src[j + 1] === '{') {
      j = skipBalanced(src, j + 1, '{', '}') - 1;
      text += ANY;
    } else text += c;
  }
  return { end: src.length, text };
}

/** The index after a regular expression literal that starts at `i`, its flags included. */
function regexEnd(src: string, i: number): number {
  let inClass = false;
  for (let j = i + 1; j < src.length; j++) {
    const c = src[j];
    if (c === '\\') j++;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) return j + 1 + /^\w*/.exec(src.slice(j + 1))![0].length;
  }
  return src.length;
}

/** The index after the bracket that closes the one at `i`, stepping over strings, templates, regexes and comments. */
function skipBalanced(src: string, i: number, open = '(', close = ')'): number {
  let depth = 0;
  for (let j = i; j < src.length; j++) {
    const c = src[j]!;
    if (c === "'" || c === '"' || c === '`') j = readLiteral(src, j).end - 1;
    else if (c === '/' && src[j + 1] === '/') j = src.indexOf('\n', j);
    else if (c === '/' && src[j + 1] === '*') j = src.indexOf('*/', j) + 1;
    // A slash where a value starts (after an operator or an opening bracket) begins a regex, not a division.
    else if (c === '/' && /[(,=:[!&|?{};]\s*$/.test(src.slice(Math.max(0, j - 40), j))) j = regexEnd(src, j) - 1;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return j + 1;
    if (j < 0) break;
  }
  return src.length;
}

/** The titles of the `it`, `test` and `describe` calls in a test file, `.each` and the like included. */
function titlesIn(src: string): string[] {
  const titles: string[] = [];
  for (const m of src.matchAll(/(?<![.\w$])(?:it|test|describe)((?:\.\w+)*)\s*\(/g)) {
    let at = m.index + m[0].length;
    // it.each(table)('title', …): the title is in the second call.
    if (/\.(each|for|runIf|skipIf)\b/.test(m[1]!)) {
      at = skipBalanced(src, at - 1);
      const next = /^\s*\(/.exec(src.slice(at));
      if (!next) continue;
      at += next[0].length;
    }
    const start = /^\s*(['"`])/.exec(src.slice(at));
    if (start) titles.push(readLiteral(src, at + start[0].length - 1).text);
  }
  return titles;
}

/** Whether a title (ANY for an interpolation) is `cited`, or, for a prefix, starts with it. */
function titleMatches(title: string, cited: string, prefix: boolean): boolean {
  const [head, ...rest] = title.split(ANY);
  if (rest.length === 0) return prefix ? head!.startsWith(cited) : head === cited;
  if (cited.length <= head!.length) return prefix ? head!.startsWith(cited) : false;
  if (!cited.startsWith(head!)) return false;
  const tail = rest.join(ANY);
  for (let skip = head!.length; skip <= cited.length; skip++) if (titleMatches(tail, cited.slice(skip), prefix)) return true;
  return false;
}

/** Every problem with the citations of a document: files that do not exist, names no test has, rows that cite nothing. */
function checkCitations(markdown: string, readTest: (path: string) => string | undefined): string[] {
  const problems: string[] = [];
  const paths = new Map<string, string>();
  const titles = new Map<string, string[] | undefined>();
  for (const table of tablesOf(markdown)) {
    const column = table.header.indexOf('Test');
    if (column < 0) {
      if (!UNCHECKED.has(table.section)) problems.push(`${table.section}: a table without a Test column`);
      continue;
    }
    for (const { line, cells } of table.rows) {
      const where = `line ${line} (${cells[0]})`;
      const { citations, problems: own } = citationsOf(cells[column] ?? '', paths);
      problems.push(...own.map((p) => `${where}: ${p}`));
      if (citations.length === 0) problems.push(`${where}: cites no test`);
      for (const { file, names } of citations) {
        if (!titles.has(file)) {
          const src = readTest(file);
          titles.set(file, src === undefined ? undefined : titlesIn(src));
        }
        const known = titles.get(file);
        if (!known) {
          problems.push(`${where}: \`${file}\` does not exist`);
          continue;
        }
        for (const name of names) {
          const prefix = name.endsWith('…');
          const cited = prefix ? name.slice(0, -1).trimEnd() : name;
          if (!known.some((t) => titleMatches(t, cited, prefix))) problems.push(`${where}: \`${file}\` has no test "${name}"`);
        }
      }
    }
  }
  return problems;
}

const readTest = (path: string) => {
  const full = join(ROOT, path);
  return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
};

describe('RELIABILITY.md', () => {
  it('cites, in every row, tests that exist', () => {
    expect(checkCitations(readFileSync(join(ROOT, 'RELIABILITY.md'), 'utf8'), readTest)).toEqual([]);
  });

  it('finds the titles of it, test, describe and it.each calls, as written', () => {
    // \x24 is the $ of a template literal's ${…} in the source text.
    const src = [
      "describe('a group', () => {",
      "  it('plain \\'quoted\\'', () => {});",
      '  it.each([[1, (2)], [3, `x\x24{(4)}`]] as const)("each %s: \\"%i\\"", () => {});',
      '  test(`beyond \x24{MAX} with 503`, () => {});',
      "  it.each([['a (paren', /\\(\"[)]/]])('after a regex: %s', () => {});",
      "  expect(/x/.test('not a title')).toBe(true);",
      '});',
    ].join('\n');
    expect(titlesIn(src)).toEqual(['a group', "plain 'quoted'", 'each %s: "%i"', `beyond ${ANY} with 503`, 'after a regex: %s']);
    expect(titleMatches(`beyond ${ANY} with 503`, 'beyond 8 with 503', false)).toBe(true);
    expect(titleMatches(`beyond ${ANY} with 503, logged`, 'beyond 8 with', true)).toBe(true);
    expect(titleMatches(`beyond ${ANY} with 503`, 'after 8 with', true)).toBe(false);
    expect(titleMatches(`beyond ${ANY} with 503`, 'beyond 8 with 504', false)).toBe(false);
  });

  it('catches a bad citation: a missing file, a name no test has, a name with no file, a bare name never cited with its path', () => {
    const files: Record<string, string> = { 'test/a.test.ts': "it('does one thing', () => {}); it('does another thing too', () => {});" };
    const doc = [
      '## Faults',
      '| Fault | Result | Test |',
      '| --- | --- | --- |',
      '| ok | fine | `test/a.test.ts` › "does one thing", "does another …"; again: `a.test.ts` › "does one thing" |',
      '| renamed | x | `a.test.ts` › "does one thing, renamed" |',
      '| cut wrong | x | `a.test.ts` › "does a third …" |',
      '| gone | x | `test/gone.test.ts` › "anything" |',
      '| loose | x | Telegram: "does one thing" |',
      '| bare | x | `b.test.ts` |',
      '| none | x | by hand |',
      '## Load',
      '| Case | Result |',
      '| --- | --- |',
      '| measured | 20 praises |',
      '## Other',
      '| Case | Result |',
      '| --- | --- |',
    ].join('\n');
    expect(checkCitations(doc, (path) => files[path])).toEqual([
      'line 5 (renamed): `test/a.test.ts` has no test "does one thing, renamed"',
      'line 6 (cut wrong): `test/a.test.ts` has no test "does a third …"',
      'line 7 (gone): `test/gone.test.ts` does not exist',
      'line 8 (loose): "does one thing": a test name with no file before it',
      'line 8 (loose): cites no test',
      'line 9 (bare): `b.test.ts`: a bare file name with no earlier citation of its path',
      'line 9 (bare): `b.test.ts` does not exist',
      'line 10 (none): cites no test',
      'Other: a table without a Test column',
    ]);
  });
});
