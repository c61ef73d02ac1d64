/** How the dashboard's browser bundle is built (shared by `tsup.config.ts` and the tests). */

import { bundlePlayground } from '@x/playground/bundle';
import type { Options } from 'tsup';

// Decoded: a checkout path with spaces would otherwise reach tsup as %20.
const uiDirectory = decodeURIComponent(new URL('.', import.meta.url).pathname);

/**
 * tsup options that bundle `ui/app.ts` (and the CSS it imports) into `outDir/app.js` and
 * `outDir/app.css`: one ES module for current browsers, no runtime dependencies, no CDN. Then the
 * Playground tab's script and stylesheet, `outDir/playground.js` and `outDir/playground.css`, from
 * the private package `@x/playground` (the docs site's playground, bundled from the same source).
 *
 * @param outDir where to write the bundle (the server serves it from `dist/ui/`).
 */
export function dashboardUiBuildOptions(outDir: string): Options {
  return {
    entry: { app: `${uiDirectory}app.ts` },
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
    // Without this tsup names the ESM output app.mjs for platform browser in some setups.
    outExtension: () => ({ js: '.js' }),
    // After the dashboard's build, which cleans outDir first; the playground bundle cleans nothing.
    // No source map: it would more than double what an npm install of kv-node brings.
    async onSuccess() {
      await bundlePlayground({ outDir, entry: 'page', sourcemap: false });
    },
  };
}
