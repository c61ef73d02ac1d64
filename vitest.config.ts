import { defineConfig } from 'vitest/config';

// One run over every package and app (each has its own vitest.config.ts), so CI gets a single
// summary. The JSON report feeds the `N passed, N failed` line that .ci/run prints.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'docs', 'tools', 'deploy', 'scripts/release'],
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
