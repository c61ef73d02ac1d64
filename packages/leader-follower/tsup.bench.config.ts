import { defineConfig } from 'tsup';

// Benchmarks bundle the workspace packages from source (the "@x/source" condition), so they run
// without building every dependency first.
export default defineConfig({
  entry: [
    'bench/replication.bench.ts',
    'bench/before-after.bench.ts',
    'bench/replication-node.ts',
    'bench/simulated.bench.ts',
    'bench/payload-window.bench.ts',
  ],
  format: ['esm'],
  platform: 'node',
  target: 'node22',
  outDir: 'dist-bench',
  silent: true,
  clean: true,
  noExternal: [/^@x\//],
  esbuildOptions(options) {
    options.conditions = ['@x/source', 'import', 'default'];
  },
});
