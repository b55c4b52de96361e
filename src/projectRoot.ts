import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root (package.json, config/, models/): the nearest folder at or above this module that has a
 * package.json. It is found by walking up rather than by a fixed relative path because this module also runs from a
 * chunk of the CLI's bundle under .kuakua/build/ (bin/bundle.mjs).
 */
export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
