import { defineConfig } from 'vitest/config';

// Tests with no redis-server, python3, onnxruntime session or browser. Every other file is an integration test.
const unit = [
  'test/architecture.test.ts',
  'test/definitions.test.ts',
  'test/docker.test.ts',
  'test/install.test.ts',
  'test/reliability.doc.test.ts',
  'test/adapters/deliveryIds.test.ts',
  'test/adapters/dingtalk.translate.test.ts',
  'test/adapters/endpoints.test.ts',
  'test/adapters/listeners.test.ts',
  'test/adapters/secrets.test.ts',
  'test/adapters/supervise.test.ts',
  'test/engine/postprocess.test.ts',
  'test/engine/prefillRuns.test.ts',
  'test/engine/sampling.test.ts',
  'test/eval/blind.test.ts',
  'test/fakes/dingtalk.test.ts',
  'test/fakes/discord.test.ts',
  'test/fakes/wechat.test.ts',
  'test/service/chorus.test.ts',
  'test/service/config.test.ts',
  'test/service/distress.test.ts',
  'test/service/frames.test.ts',
  'test/service/policy.test.ts',
  'test/service/privateFiles.test.ts',
  'test/service/processGuard.test.ts',
  'test/service/reading.test.ts',
  'test/service/redisTarget.test.ts',
  'test/service/retrieval.test.ts',
  'test/service/timeout.test.ts',
  'test/service/triggers.test.ts',
  'test/web/ignored.test.ts',
];

// Test processes (vitest's workers and everything they start) inherit this, unless GLIBC_TUNABLES already sets it:
// glibc then backs large allocations with transparent huge pages where the kernel grants them on request (`madvise`
// mode), and 4 KiB page faults no longer dominate loading big ONNX files, BENCHMARKS.md#model-tools.
const tunables = process.env.GLIBC_TUNABLES?.split(':').filter(Boolean) ?? [];
if (!tunables.some((t) => t.startsWith('glibc.malloc.hugetlb='))) process.env.GLIBC_TUNABLES = [...tunables, 'glibc.malloc.hugetlb=1'].join(':');

export default defineConfig({
  test: {
    pool: 'forks',
    // Three files at a time, on two cores (vitest's default there is one): integration files spend much of their time
    // waiting on real processes (redis-server, python3, onnxruntime sessions, a browser), and they wait on events from
    // them, not on time, so they are safe side by side.
    maxWorkers: 3,
    projects: [
      // Pure tests, so they share one module cache: a fresh one per file took the project from 12 to 21 CPU-seconds.
      { extends: true, test: { name: 'unit', include: unit, isolate: false, testTimeout: 30_000 } },
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
