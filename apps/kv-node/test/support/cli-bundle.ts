/**
 * Bundling kv-node's CLI for the real-process tests: `src/cli.ts` with the `@x/*` workspace
 * packages bundled from source, so a test runs the code in the tree without `pnpm build`.
 */

import { readFileSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

/** The app's root folder (apps/kv-node/). */
export const appRoot = fileURLToPath(new URL('../..', import.meta.url));

// npm dependencies stay external (pino is CommonJS and cannot be bundled into ESM). Named here
// rather than left to tsup, which reads package.json from the working directory: vitest may run
// from the repository root, whose package.json has none of them.
const npmDependencies = Object.keys(
  (JSON.parse(readFileSync(`${appRoot}/package.json`, 'utf8')) as { dependencies: object })
    .dependencies,
).filter((name) => !name.startsWith('@x/'));

/**
 * Bundles `src/cli.ts` into `outDir/cli.js`, with etcd's `.proto` files beside it. `outDir` must
 * be inside the app, so the bundle resolves the external npm dependencies from its node_modules.
 *
 * @returns the path of `cli.js`
 */
export async function bundleCli(outDir: string): Promise<string> {
  await build({
    entry: { cli: `${appRoot}/src/cli.ts` },
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node22',
    dts: false,
    sourcemap: false,
    silent: true,
    config: false,
    noExternal: [/^@x\//],
    external: npmDependencies,
    esbuildOptions(options) {
      options.conditions = ['@x/source', 'import', 'node'];
    },
  });
  // etcd's .proto files are read at run time from `proto/` beside the bundle, as in dist/.
  await cp(`${appRoot}/src/grpc/proto`, `${outDir}/proto`, { recursive: true });
  return `${outDir}/cli.js`;
}
