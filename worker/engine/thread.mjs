// Engine thread entry: worker threads do not inherit tsx's loader, so register it before loading the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
