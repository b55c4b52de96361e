import { makeRandomModel, TEST_MODELS } from '../helpers/model.ts';

/** Vitest global setup: builds the test models once per run instead of once per test file. */
export default async function buildTestModels(): Promise<void> {
  await Promise.all(Object.values(TEST_MODELS).map((opts) => makeRandomModel(opts)));
}
