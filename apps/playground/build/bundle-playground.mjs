#!/usr/bin/env node
// Bundles the cluster playground (src/ui/, with @x/simulation and @x/leader-follower from their
// sources) for the browser: one ES module and the playground's stylesheet, no network at run time.
// Used by the docs site (docs/scripts/build-playground.mjs) and by kv-node's dashboard
// (apps/kv-node/ui/build-options.ts), so both run the one copy of the playground.
//
// Usage: node build/bundle-playground.mjs [outDir]   (default: dist; the package's own build)

import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'tsup';

/** The package's folder (apps/playground/). */
export const playgroundDirectory = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The entries: `module` exports `mountPlayground(root)` (the docs site's loader calls it on the
 * playground page only); `page` mounts the playground on `#playground-root` as it loads (a page
 * of its own, such as the dashboard's tab).
 */
const ENTRIES = {
  module: join(playgroundDirectory, 'src', 'ui', 'app.ts'),
  page: join(playgroundDirectory, 'src', 'ui', 'page.ts'),
};

/**
 * Node's built-in modules, replaced in the browser by modules with the same export names whose
 * functions throw. `@x/wal`'s WriteAheadLog falls back to the real disk (`NodeFileSystem`, which
 * imports `fs/promises` and `path`) when it is given no file system; the playground always gives it
 * the simulator's disk, so none of these is ever called, but the bundle must still load without
 * them. The names are read from Node's own modules, so an import of a name Node lacks still fails.
 */
const nodeBuiltinsUnavailable = {
  name: 'node-builtins-unavailable',
  setup(builder) {
    builder.onResolve({ filter: /^node:/ }, (args) => ({
      path: args.path,
      namespace: 'node-builtin-unavailable',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'node-builtin-unavailable' }, async (args) => {
      const real = await import(args.path);
      const lines = [
        `const unavailable = (name) => () => { throw new Error(${JSON.stringify(args.path)} + ' ' + name + ' is not available in the browser'); };`,
      ];
      for (const [name, value] of Object.entries(real)) {
        if (name === 'default' || !/^[A-Za-z_$][\w$]*$/.test(name)) continue;
        lines.push(
          typeof value === 'function'
            ? `export const ${name} = unavailable(${JSON.stringify(name)});`
            : `export const ${name} = ${typeof value === 'object' ? '{}' : JSON.stringify(value ?? null)};`,
        );
      }
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

/**
 * Writes `<outDir>/playground.js` (and its source map when asked) and `<outDir>/playground.css`.
 * Nothing else in `outDir` is touched, so it may share a folder with other bundles.
 *
 * @param {{ outDir: string, entry?: 'module' | 'page', sourcemap?: boolean }} options
 *   `entry` default `module`; `sourcemap` default true.
 * @returns {Promise<{ file: string, bytes: number, gzipBytes: number }>} the script and its size.
 */
export async function bundlePlayground({ outDir, entry = 'module', sourcemap = true }) {
  await mkdir(outDir, { recursive: true });
  await build({
    entry: { playground: ENTRIES[entry] },
    outDir,
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap,
    dts: false,
    clean: false,
    splitting: false,
    config: false,
    silent: true,
    // Bundle every package into the one file (tsup leaves dependencies external by default).
    noExternal: [/.*/],
    // The packages' sources (the "@x/source" export condition), so no package build is needed.
    esbuildOptions(options) {
      options.conditions = ['@x/source', 'import', 'default'];
    },
    // Let the plugin below see `node:` imports (tsup would mark them external).
    removeNodeProtocol: false,
    esbuildPlugins: [nodeBuiltinsUnavailable],
    outExtension: () => ({ js: '.js' }),
  });
  await copyFile(join(playgroundDirectory, 'playground.css'), join(outDir, 'playground.css'));
  const file = join(outDir, 'playground.js');
  const bytes = (await stat(file)).size;
  const gzipBytes = gzipSync(await readFile(file)).length;
  return { file, bytes, gzipBytes };
}

/** `123.4 KiB (45.6 KiB gzipped)`. */
export function describeSize({ bytes, gzipBytes }) {
  return `${(bytes / 1024).toFixed(1)} KiB (${(gzipBytes / 1024).toFixed(1)} KiB gzipped)`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? join(playgroundDirectory, 'dist'));
  const size = await bundlePlayground({ outDir, entry: 'page', sourcemap: false });
  console.log(`playground page bundle: ${describeSize(size)}`);
}
