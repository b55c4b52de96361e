// Engine thread entry when running from the sources (tsx, vitest; the CLI's bundle has its own thread.mjs): worker
// threads do not inherit tsx's loader, so register it before loading the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
