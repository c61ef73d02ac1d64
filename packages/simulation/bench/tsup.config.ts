import { defineConfig } from 'tsup';

// Bundles the benchmark with the workspace packages from source (the "@x/source" condition), so
// it runs without building @x/wal and @x/linearizability first.
export default defineConfig({
  entry: ['bench/toy-cluster.bench.ts', 'bench/event-loop.bench.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node22',
  outDir: 'dist-bench',
  silent: true,
  noExternal: [/^@x\//],
  esbuildOptions(options) {
    options.conditions = ['@x/source'];
  },
});
