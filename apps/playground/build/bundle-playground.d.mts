/** Types of bundle-playground.mjs, for the TypeScript that calls it. */

/** The package's folder (apps/playground/). */
export const playgroundDirectory: string;

/** What {@link bundlePlayground} wrote. */
export interface PlaygroundBundle {
  /** The script's path. */
  file: string;
  /** Its size in bytes. */
  bytes: number;
  /** Its size gzipped, in bytes. */
  gzipBytes: number;
}

/**
 * Writes `<outDir>/playground.js` (with a source map unless `sourcemap` is false) and
 * `<outDir>/playground.css`. `entry`: `module` (exports `mountPlayground`, the default) or `page`
 * (mounts itself on `#playground-root`).
 */
export function bundlePlayground(options: {
  outDir: string;
  entry?: 'module' | 'page';
  sourcemap?: boolean;
}): Promise<PlaygroundBundle>;

/** `123.4 KiB (45.6 KiB gzipped)`. */
export function describeSize(size: { bytes: number; gzipBytes: number }): string;
