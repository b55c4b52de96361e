import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { startPostReader, type PostReaderHandle } from '../../worker/engine/postReader.ts';

/**
 * The post reader of `dir` (reader.dir, `kuakua praise --reader`), or none: an empty dir, or a reader that cannot
 * start, leaves the distress patterns and the word-list tones working, with a warning.
 */
export async function loadReader(dir: string, logger: Logger): Promise<PostReaderHandle | undefined> {
  if (!dir) {
    logger.warn('no post reader (reader.dir is empty): distress is caught by distress.patterns alone, and tones come from the words');
    return undefined;
  }
  try {
    return await startPostReader(resolve(dir));
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'the post reader did not start: distress is caught by distress.patterns alone');
    return undefined;
  }
}
