import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Modes of what kuakua keeps on disk (WeChat logins, the private Redis's data and password, CLI builds): its user's alone. */
const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

const gone = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Makes path and everything under it private: folders 0700, files 0600. Links are not followed, and what belongs to
 * another user is left alone (it is not ours to change, nor could we); a path that does not exist is skipped.
 */
export function makePrivate(path: string): void {
  if (process.platform === 'win32') return;
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(path);
  } catch (err) {
    if (gone(err)) return;
    throw err;
  }
  if (stat.uid !== process.getuid?.()) return;
  const mode = stat.isDirectory() ? PRIVATE_DIR_MODE : stat.isFile() ? PRIVATE_FILE_MODE : undefined;
  if (mode === undefined) return;
  try {
    if ((stat.mode & 0o777) !== mode) chmodSync(path, mode);
    // A file written by another process may vanish meanwhile (redis-server rewrites its append-only file).
    if (stat.isDirectory()) for (const name of readdirSync(path)) makePrivate(join(path, name));
  } catch (err) {
    if (!gone(err)) throw err;
  }
}

/** Creates dir (and missing parents) private, or makes an existing one private. */
export function mkdirPrivate(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  makePrivate(dir);
}
