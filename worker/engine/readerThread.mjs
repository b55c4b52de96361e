// The post reader's thread entry when it runs from the sources (vitest, bench): the bundled thread, as thread.mjs does
// for the engine.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle } from '../../bin/bundle.mjs';

await import(pathToFileURL(join(await bundle(), 'readerThread.mjs')).href);
