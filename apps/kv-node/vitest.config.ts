import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@x/source'] },
  ssr: { resolve: { conditions: ['@x/source'] } },
  test: {
    name: '@x/kv-node',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The real-process tests share one CLI bundle, built before the first file starts.
    globalSetup: ['test/support/cli-bundle.global-setup.ts'],
  },
});
