import { bundle } from '../../bin/bundle.mjs';
import { makeRandomModel, TEST_MODELS } from '../helpers/model.ts';

/**
 * Vitest global setup: builds the test models once per run instead of once per test file, and the CLI's bundle before
 * the files that spawn `kuakua` start it side by side.
 */
export default async function setup(): Promise<void> {
  await Promise.all([bundle(), ...Object.values(TEST_MODELS).map((opts) => makeRandomModel(opts))]);
}
