import { defineProject } from 'vitest/config';

export default defineProject({
  // Examples marked `ts run` are imported from docs/dist/examples/ and import packages from src/.
  resolve: { conditions: ['@x/source'] },
  ssr: { resolve: { conditions: ['@x/source'] } },
  test: {
    name: '@x/docs',
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', 'site/**', 'dist/**'],
  },
});
