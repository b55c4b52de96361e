import { defineConfig } from 'vitest/config';

// Tests with no redis-server, python3, onnxruntime session or browser. Every other file is an integration test.
const unit = [
  'test/architecture.test.ts',
  'test/definitions.test.ts',
  'test/adapters/dingtalk.translate.test.ts',
  'test/adapters/supervise.test.ts',
  'test/engine/postprocess.test.ts',
  'test/engine/prefillRuns.test.ts',
  'test/engine/sampling.test.ts',
  'test/eval/blind.test.ts',
  'test/service/config.test.ts',
  'test/service/distress.test.ts',
  'test/service/policy.test.ts',
  'test/service/processGuard.test.ts',
  'test/service/timeout.test.ts',
  'test/service/triggers.test.ts',
  'test/web/ignored.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    // Two files at a time (vitest's default on two cores is one). Integration files start real processes (redis-server,
    // python3, onnxruntime sessions) and wait on events from them, not on time, so they are safe side by side too.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: unit, testTimeout: 30_000 } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: unit,
          globalSetup: ['test/setup/models.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
