import { defineProject } from 'vitest/config';

// Release checks (scripts/release/README.md): they pack the built packages, so `pnpm build` runs first.
export default defineProject({
  test: { name: 'release', include: ['**/*.test.ts'], testTimeout: 60_000 },
});
