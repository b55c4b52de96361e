#!/usr/bin/env node
// Runs the CLI from its bundle (bin/bundle.mjs), built on first use and after any change to the sources.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle } from './bundle.mjs';

let dir;
try {
  dir = await bundle();
} catch (err) {
  process.stderr.write(`kuakua: cannot build the CLI from its sources: ${err.message}\n`);
  process.exit(1);
}
process.setSourceMapsEnabled(true);
await import(pathToFileURL(join(dir, 'cli.mjs')).href);
