import { join, resolve } from 'node:path';
import { makePrivate } from '../privateFiles.ts';
import { PROJECT_ROOT } from '../projectRoot.ts';
import type { AppConfig } from './config.ts';

/**
 * Makes the folders kuakua keeps state in private, with everything in them: `.kuakua` in the working folder and in the
 * project (the CLI's builds), the private Redis's data (posts and user ids in its append-only file, its password) and
 * the WeChat logins (wechat.memoryDir), wherever the config puts them. New files are private by the CLI's umask; this
 * covers what an older kuakua, or one run under another umask, left readable to others.
 */
export function secureStateDirs(config: Pick<AppConfig, 'redis' | 'wechat'>, cwd = process.cwd(), projectRoot = PROJECT_ROOT): void {
  const dirs = [join(cwd, '.kuakua'), join(projectRoot, '.kuakua'), resolve(cwd, config.redis.dataDir), resolve(cwd, config.wechat.memoryDir)];
  for (const dir of new Set(dirs)) makePrivate(dir);
}
