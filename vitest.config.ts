import { defineConfig } from 'vitest/config';

// Tests start real processes (redis-server, python3, onnxruntime sessions); on two cores they run one file at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
