import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Helpers and literals that several layers need, and the one module that defines each; the others import it. */
const SHARED: Record<string, string> = {
  withTimeout: 'src/timeout.ts',
  replyJobOptions: 'src/queue/contracts.ts',
  finishedJobRetention: 'src/queue/contracts.ts',
  MAX_TEXT_CHARS: 'src/queue/contracts.ts',
};

function definitions(name: string): string[] {
  const defines = new RegExp(`\\b(function|const|let|var|class)\\s+${name}\\b`);
  return ['src', 'adapters', 'worker', 'common'].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `${dir}/${f.split('\\').join('/')}`)
      .filter((path) => defines.test(readFileSync(join(ROOT, path), 'utf8'))),
  );
}

describe('one definition for what several layers share', () => {
  it.each(Object.entries(SHARED))('%s is defined only in %s', (name, home) => {
    expect(definitions(name)).toEqual([home]);
  });
});
