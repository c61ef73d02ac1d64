import { defineProject } from 'vitest/config';

// Checks of the reference deployment that need no container engine (deploy/README.md, "CI checks").
export default defineProject({
  test: {
    name: 'deploy',
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    // The machines are shared and busy: spawned tools can take seconds to start.
    testTimeout: 60_000,
  },
});
