/** How the dashboard's browser bundle is built (shared by `tsup.config.ts` and the tests). */

import type { Options } from 'tsup';

// Decoded: a checkout path with spaces would otherwise reach tsup as %20.
const uiDirectory = decodeURIComponent(new URL('.', import.meta.url).pathname);

/**
 * tsup options that bundle `ui/app.ts` (and the CSS it imports) into `outDir/app.js` and
 * `outDir/app.css`: one ES module for current browsers, no runtime dependencies, no CDN.
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
  };
}
