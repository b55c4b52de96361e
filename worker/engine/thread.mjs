// Engine thread entry when the engine runs from the sources (vitest, bench). Worker threads do not inherit tsx's
// loader, and loading each TypeScript module through it again took more CPU than a short test's inference, so this
// runs the bundled thread the CLI runs (bin/bundle.mjs), built from the current sources.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle } from '../../bin/bundle.mjs';

await import(pathToFileURL(join(await bundle(), 'thread.mjs')).href);
