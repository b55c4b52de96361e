import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Loads `.env` from the working directory (or the file named by KUAKUA_ENV_FILE; empty for none) into process.env
 * before the config is read, with Node's own parser. A variable already set in the environment wins over the file.
 * Returns the file loaded, if any; a KUAKUA_ENV_FILE that does not exist is an error.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const named = env.KUAKUA_ENV_FILE;
  if (named === '') return undefined;
  const file = resolve(cwd, named ?? '.env');
  if (!existsSync(file)) {
    if (named !== undefined) throw new Error(`KUAKUA_ENV_FILE names ${named}, which does not exist`);
    return undefined;
  }
  process.loadEnvFile(file);
  return file;
}
