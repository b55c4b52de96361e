import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layer boundaries, checked on every test run:
 * - worker/engine/ is a leaf: it imports nothing from src/, adapters/ or the rest of worker/ (its thread shims load the
 *   CLI's bundle, bin/bundle.mjs, when the engine runs from the sources);
 * - the core (src/ but the composition root, src/app/) imports nothing from adapters/ or worker/;
 * - no file under src/ imports a platform SDK (telegraf, discord.js, wechaty*, ws, @larksuiteoapi/*, dingtalk-stream);
 * - common/ imports nothing from the project outside common/;
 * - the engine's import graph has no cycle.
 * A regex over import statements is enough here: the code base uses only static `import … from`, `export … from`,
 * `import('…')` with a literal, and createRequire's `require('…')`.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCANNED = ['common', 'src', 'adapters', 'worker'];
const SOURCE = /\.(ts|mts|mjs|js)$/;

const SPECIFIER = [
  /\bfrom\s*['"]([^'"]+)['"]/g, // import … from '…' and export … from '…', over several lines too
  /\bimport\s*['"]([^'"]+)['"]/g, // import '…' (side effects only)
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('…')
  /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // require('…')
];

/** Module specifiers a source text imports, comments left out. */
function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return SPECIFIER.flatMap((re) => [...code.matchAll(re)].map((m) => m[1]!));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(path);
    return SOURCE.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

interface Edge {
  from: string;
  /** Repository-relative path for a relative import, else the package name as written. */
  to: string;
  relative: boolean;
}

function importGraph(): Edge[] {
  return SCANNED.flatMap(sourceFiles).flatMap((from) =>
    importsOf(readFileSync(join(ROOT, from), 'utf8')).map((spec) => {
      const isRelative = spec.startsWith('.');
      const to = isRelative
        ? relative(ROOT, resolve(ROOT, dirname(from), spec))
            .split('\\')
            .join('/')
        : spec;
      return { from, to, relative: isRelative };
    }),
  );
}

/** Run the engine's and the reader's threads from the CLI's bundle when they run from the sources: loaders, not engine code. */
const THREAD_SHIM = 'worker/engine/thread.mjs';
const THREAD_SHIMS = [THREAD_SHIM, 'worker/engine/readerThread.mjs'];
const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);
const isCompositionRoot = (path: string) => under(path, 'src/app');
const PLATFORM_SDK = /^(telegraf|discord\.js|wechaty|ws|dingtalk-stream)(\/|$)|^wechaty-|^@discordjs\/|^@larksuiteoapi\//;

/** The rules above, as "file imports target: why" lines; empty when the graph keeps every boundary. */
function violations(edges: Edge[]): string[] {
  const out: string[] = [];
  for (const { from, to, relative: rel } of edges) {
    const line = (why: string) => out.push(`${from} imports ${to}: ${why}`);
    if (under(from, 'worker/engine') && !(THREAD_SHIMS.includes(from) && to === 'bin/bundle.mjs')) {
      if (rel && !under(to, 'worker/engine') && !under(to, 'common')) line('the engine is a leaf (only worker/engine/ and common/)');
    }
    if (under(from, 'src') && !isCompositionRoot(from)) {
      if (rel && (under(to, 'adapters') || under(to, 'worker')))
        line('the core does not import adapters or the worker; only the composition root (src/app/) does');
    }
    if (under(from, 'src') && !rel && PLATFORM_SDK.test(to)) line('no platform SDK under src/; adapters/ translate into src/events.ts');
    if (under(from, 'common') && rel && !under(to, 'common')) line('common/ depends on nothing in the project');
  }
  return out;
}

/** Import cycles among the given edges, each as "a -> b -> … -> a". */
function cycles(edges: Edge[]): string[] {
  const next = new Map<string, string[]>();
  for (const e of edges) if (e.relative) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const to of next.get(node) ?? []) {
      if (state.get(to) === 'open') found.push([...stack.slice(stack.indexOf(to)), to].join(' -> '));
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of next.keys()) if (!state.has(node)) visit(node);
  return found;
}

describe('architecture: import boundaries', () => {
  const edges = importGraph();

  it('reads the import graph (the composition root is seen importing the adapters and the worker)', () => {
    // Guards against a scanner that finds nothing and so passes every rule.
    expect(edges.length).toBeGreaterThan(200);
    expect(edges).toContainEqual({ from: 'src/app/commands/bot.ts', to: 'adapters/web/index.ts', relative: true });
    expect(edges).toContainEqual({ from: 'src/app/platforms.ts', to: 'adapters/registry.ts', relative: true });
    expect(edges).toContainEqual({ from: 'adapters/telegram/index.ts', to: 'telegraf', relative: false });
  });

  it('the rules catch each kind of violation', () => {
    const rel = (from: string, to: string): Edge => ({ from, to, relative: true });
    const pkg = (from: string, to: string): Edge => ({ from, to, relative: false });
    expect(violations([rel('worker/engine/choose.ts', 'src/textKey.ts')])).toHaveLength(1);
    expect(violations([rel('worker/engine/choose.ts', 'worker/praise.ts')])).toHaveLength(1);
    expect(violations([rel('worker/engine/choose.ts', 'adapters/web/index.ts')])).toHaveLength(1);
    expect(violations([rel('worker/engine/choose.ts', 'bin/bundle.mjs')])).toHaveLength(1);
    expect(violations([rel(THREAD_SHIM, 'src/config.ts')])).toHaveLength(1);
    expect(violations([rel('src/core.ts', 'worker/service.ts')])).toHaveLength(1);
    expect(violations([rel('src/core.ts', 'adapters/shared/split.ts')])).toHaveLength(1);
    expect(violations([pkg('src/events.ts', 'telegraf')])).toHaveLength(1);
    expect(violations([pkg('src/app/platforms.ts', 'discord.js')])).toHaveLength(1);
    expect(violations([pkg('src/core.ts', 'wechaty-puppet-mock')])).toHaveLength(1);
    expect(violations([rel('common/textKey.ts', 'src/events.ts')])).toHaveLength(1);
    expect(
      violations([
        rel('src/app/commands/worker.ts', 'worker/service.ts'),
        rel('src/app/cli.ts', 'adapters/web/index.ts'),
        rel('src/app/config.ts', 'adapters/registry.ts'),
        rel('worker/engine/choose.ts', 'common/textKey.ts'),
        rel(THREAD_SHIM, 'bin/bundle.mjs'),
        rel('worker/service.ts', 'src/redis.ts'),
        pkg('adapters/discord/index.ts', 'discord.js'),
        pkg('src/core.ts', 'bullmq'),
      ]),
    ).toEqual([]);
  });

  it('finds imports over several lines, dynamic imports and re-exports, but not in comments', () => {
    const text = [
      "import {\n  a,\n  b,\n} from './multi.ts';",
      "export { c } from '../re.ts';",
      "const m = await import('../../adapters/x.ts');",
      "import './side.ts';",
      "// import { no } from './commented.ts';",
      "/* import { no } from './block.ts'; */",
    ].join('\n');
    expect(importsOf(text).sort()).toEqual(['../../adapters/x.ts', '../re.ts', './multi.ts', './side.ts']);
  });

  it('keeps every boundary', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('the engine has no import cycle', () => {
    expect(cycles(edges.filter((e) => under(e.from, 'worker/engine')))).toEqual([]);
  });
});

describe("architecture: the README's layout table", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const rows = readme
    .slice(readme.indexOf('| folder | what |'))
    .split('\n\n')[0]!
    .split('\n')
    .slice(2)
    .map((row) => row.split('|').map((cell) => cell.trim()));
  const paths = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  const named = rows.flatMap((cells) => paths(cells[1]!)).map((p) => p.replace(/\/$/, ''));
  const folders = (dir: string) =>
    readdirSync(join(ROOT, dir), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  // Top-level folders that are not in the repository (.gitignore lists them as `name`, `name/` or `/name/`).
  const ignored = new Set(
    readFileSync(join(ROOT, '.gitignore'), 'utf8')
      .split('\n')
      .map((l) => /^\/?([\w.-]+)\/?$/.exec(l.trim())?.[1])
      .filter(Boolean),
  );

  it('names each path that exists, and every top-level folder of the repository', () => {
    expect(named.length).toBeGreaterThan(10);
    for (const path of named) expect(existsSync(join(ROOT, path)), path).toBe(true);
    const topLevel = folders('.').filter((name) => !name.startsWith('.') && !ignored.has(name));
    expect(topLevel).toContain('adapters');
    for (const dir of topLevel)
      expect(
        named.some((p) => under(p, dir)),
        dir,
      ).toBe(true);
  });

  it('names every adapter folder in the adapters row', () => {
    const row = rows.find((cells) => cells[1] === '`adapters/`');
    expect(row).toBeDefined();
    const mentioned = paths(row![2]!);
    for (const name of folders('adapters')) expect(mentioned, `adapters/${name}/`).toContain(`${name}/`);
  });
});
