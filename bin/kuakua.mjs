#!/usr/bin/env node
// Runs the CLI from its bundle (bin/bundle.mjs), built on first use and after any change to the sources, or from the
// prebuilt one that KUAKUA_BUNDLE_DIR names (`node bin/bundle.mjs DIR`, as the Docker images do), which is never rebuilt.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle } from './bundle.mjs';

// What the CLI writes, its builds under .kuakua included, is its user's alone (src/app/cli.ts sets the same).
process.umask(0o077);

const prebuilt = process.env.KUAKUA_BUNDLE_DIR;
let dir = prebuilt;
if (prebuilt && !existsSync(join(prebuilt, 'cli.mjs'))) {
  process.stderr.write(`kuakua: KUAKUA_BUNDLE_DIR names ${prebuilt}, which holds no cli.mjs (build one with \`node bin/bundle.mjs ${prebuilt}\`)\n`);
  process.exit(1);
}
try {
  dir ??= await bundle();
} catch (err) {
  process.stderr.write(`kuakua: cannot build the CLI from its sources: ${err.message}\n`);
  process.exit(1);
}
process.setSourceMapsEnabled(true);
await import(pathToFileURL(join(dir, 'cli.mjs')).href);
