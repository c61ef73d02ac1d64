#!/usr/bin/env node
// Bundles the cluster playground (docs/playground/src/ui/app.ts, with @x/simulation and
// @x/leader-follower from their sources) for the browser into <site>/assets/playground/, where the
// site's loader (docs/playground/loader.js, typedoc's customJs) finds it. Run after typedoc: the
// bundle is part of the built site and never committed. Prints the bundle's size.
//
// Usage: node docs/scripts/build-playground.mjs [siteDirectory]   (default: docs/site)

import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'tsup';

const docsDirectory = resolve(dirname(fileURLToPath(import.meta.url)), '..');

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
 * Builds the bundle into `<siteDirectory>/assets/playground/playground.js`.
 *
 * @param {string} siteDirectory - the built site (typedoc's output).
 * @returns {Promise<{ file: string, bytes: number, gzipBytes: number }>}
 */
export async function buildPlayground(siteDirectory) {
  const outDir = join(resolve(siteDirectory), 'assets', 'playground');
  await build({
    entry: { playground: join(docsDirectory, 'playground', 'src', 'ui', 'app.ts') },
    outDir,
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    dts: false,
    clean: true,
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
  const file = join(outDir, 'playground.js');
  const bytes = statSync(file).size;
  const gzipBytes = gzipSync(readFileSync(file)).length;
  return { file, bytes, gzipBytes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const site = process.argv[2] ?? join(docsDirectory, 'site');
  const { bytes, gzipBytes } = await buildPlayground(site);
  console.log(
    `playground bundle: ${(bytes / 1024).toFixed(1)} KiB (${(gzipBytes / 1024).toFixed(1)} KiB gzipped)`,
  );
}
