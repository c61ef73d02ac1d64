import { defineConfig } from 'tsup';

export default defineConfig({
  // Named entries: `dist/link-proxy.js` beside `dist/cli.js`, not under `dist/cli/`.
  entry: { index: 'src/index.ts', cli: 'src/cli.ts', 'link-proxy': 'src/cli/link-proxy.ts' },
  format: ['esm'],
  target: 'node22',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
});
