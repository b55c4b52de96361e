// The CLI's bundle: src/app/cli.ts and the engine thread's entry, built with esbuild into ESM files that share chunks,
// npm packages left to Node. A process then loads a few files instead of hundreds of modules through tsx's loader
// hooks, which took about half of a `kuakua` process's start-up CPU: BENCHMARKS.md#cli-start-up.
//
// Builds live in .kuakua/build/<key>/, where the key covers the path, size and modification time of every file the
// bundle can be built from, so an edited source is picked up on the next run without a build step. A build is written
// to a temporary folder and renamed into place, so processes started together never read a half-written one.
//
// `node bin/bundle.mjs DIR` builds into DIR instead, once (the Docker images do, into a folder their user cannot write);
// `kuakua` runs that build as it is when KUAKUA_BUNDLE_DIR names DIR.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(dirname(SELF), '..');
const SOURCE_DIRS = ['src', 'adapters', 'worker', 'common'];
const SOURCE_FILES = ['package.json', 'tsconfig.json'];
const SOURCE = /\.(ts|mts|mjs|js|json)$/;
/**
 * Output names; worker/engine/index.ts starts `thread.mjs` and worker/engine/postReader.ts `readerThread.mjs` beside
 * their own modules, in the sources and here alike.
 */
const ENTRIES = { cli: 'src/app/cli.ts', thread: 'worker/engine/thread.ts', readerThread: 'worker/engine/readerThread.ts' };
/** Other builds are deleted once unused this long: a process still running from one may yet load a chunk of it. */
const UNUSED_MS = 24 * 60 * 60 * 1000;

/** Path, size and modification time of every file the bundle can be built from, and of this file, hashed. */
function sourceKey(root) {
  const files = SOURCE_DIRS.flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && SOURCE.test(e.name))
      // parentPath from Node 20.12, path before it.
      .map((e) => relative(root, join(e.parentPath ?? e.path, e.name))),
  );
  const hash = createHash('sha256');
  for (const file of [...files.sort(), ...SOURCE_FILES].map((f) => join(root, f)).concat(SELF)) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${relative(root, file)}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** The folder of the current build of `root`'s sources (built now if there is none), holding cli.mjs, thread.mjs and readerThread.mjs. */
export async function bundle(root = ROOT) {
  const builds = join(root, '.kuakua', 'build');
  const key = sourceKey(root);
  const dir = join(builds, key);
  if (existsSync(dir)) {
    markUsed(dir);
    return dir;
  }
  const tmp = `${dir}.${process.pid}.tmp`;
  try {
    await buildInto(root, tmp);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  try {
    renameSync(tmp, dir);
  } catch (err) {
    // Another process built the same sources first: use its build.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw err;
  }
  prune(builds, key);
  return dir;
}

/** Builds `root`'s sources into outdir. */
async function buildInto(root, outdir) {
  const { build } = await import('esbuild');
  await build({
    absWorkingDir: root,
    entryPoints: ENTRIES,
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'silent',
  });
}

function markUsed(dir) {
  try {
    const now = new Date();
    utimesSync(dir, now, now);
  } catch {
    // A build made at image build time may be read-only to the user running it, and is never pruned there.
  }
}

function prune(builds, keep) {
  const cutoff = Date.now() - UNUSED_MS;
  for (const name of readdirSync(builds)) {
    const path = join(builds, name);
    if (name !== keep && statSync(path).mtimeMs < cutoff) rmSync(path, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  const [outdir] = process.argv.slice(2);
  if (!outdir) {
    process.stderr.write('usage: node bin/bundle.mjs DIR   (builds the CLI into DIR; KUAKUA_BUNDLE_DIR=DIR runs it)\n');
    process.exit(2);
  }
  await buildInto(ROOT, resolve(outdir));
}
