import { cp } from 'node:fs/promises';
import { defineConfig } from 'tsup';

export default defineConfig({
  // Named entries: `dist/link-proxy.js` beside `dist/cli.js`, not under `dist/cli/`.
  entry: {
    index: 'src/index.ts',
    cli: 'src/cli.ts',
    'link-proxy': 'src/cli/link-proxy.ts',
    recipes: 'src/recipes/index.ts',
  },
  format: ['esm'],
  target: 'node22',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  // etcd's .proto files are read at run time from `proto/` beside the bundle (src/grpc/etcd-proto.ts).
  async onSuccess() {
    await cp(
      new URL('./src/grpc/proto/', import.meta.url),
      new URL('./dist/proto/', import.meta.url),
      {
        recursive: true,
      },
    );
  },
});
