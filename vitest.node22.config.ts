import { defineConfig } from 'vitest/config';

// `pnpm test:node22`: the packages' own tests (not the apps, docs or release checks), which .ci/run
// runs a second time on Node 22, the oldest line `engines` allows. Its JSON report is kept apart
// from the main run's, and .ci/run adds both to its `N passed, N failed` line. The script passes
// `--maxWorkers=2`: a `maxWorkers` here would not reach the projects.
export default defineConfig({
  test: {
    projects: ['packages/*'],
    reporters: ['default', ['json', { outputFile: '.vitest-results-node22.json' }]],
  },
});
