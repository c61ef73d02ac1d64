/** Types of build-playground.mjs, for the playground's TypeScript tests. */

/** Builds the playground bundle into `<siteDirectory>/assets/playground/playground.js`. */
export function buildPlayground(
  siteDirectory: string,
): Promise<{ file: string; bytes: number; gzipBytes: number }>;
