import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_TEXT_CHARS } from '../../src/queue/contracts.ts';
import { BAD_INPUTS } from '../adapters/badInput.ts';
import { makeRandomModel, REPO_ROOT } from '../helpers/model.ts';

const exec = promisify(execFile);

/**
 * The shared bad-input table, as command-line arguments: an argument cannot hold NUL (the OS ends it there) and one
 * argument is at most 128 KiB, so those two cases are adapted (the 100 000 characters are ASCII here).
 */
const CLI_INPUTS = BAD_INPUTS.map(([name, text]): [string, string] =>
  name === '100 000 characters' ? [name, `求夸${'a'.repeat(99_998)}`] : [name, text.replaceAll('\u0000', '')],
);

describe('`kuakua praise` with the bad-input table', () => {
  let model: string;
  beforeAll(async () => {
    model = await makeRandomModel();
  });

  it.each(CLI_INPUTS)(
    '%s: a praise, or a one-line error with status 1; never a crash',
    async (_name, text) => {
      let code = 0;
      let stdout: string;
      let stderr: string;
      try {
        ({ stdout, stderr } = await exec(process.execPath, [join(REPO_ROOT, 'bin/kuakua.mjs'), 'praise', text, '--model', model, '--seed', '1'], {
          maxBuffer: 1 << 20,
        }));
      } catch (err) {
        ({ code, stdout, stderr } = err as { code: number; stdout: string; stderr: string });
      }
      if (text.trim() === '') {
        expect(code).toBe(1);
        expect(stderr.trim()).toBe('kuakua praise: nothing to praise: the text is empty');
        expect(stdout).toBe('');
      } else if (text.length > MAX_TEXT_CHARS) {
        expect(code).toBe(1);
        expect(stderr.trim()).toBe(`kuakua praise: the text is too long: 100000 characters (at most ${MAX_TEXT_CHARS})`);
      } else {
        expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
        expect(stdout.trim().split('\n')).toHaveLength(1);
        expect(stdout.trim().length).toBeGreaterThan(0);
      }
    },
    60_000,
  );
});
