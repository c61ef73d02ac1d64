/**
 * The built browser bundle of the dashboard (`ui/` built into `dist/ui/`, with the Playground tab's
 * `playground.js` and `playground.css`), read once.
 */

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** A file served under `/ui/assets/`. */
export interface StaticAsset {
  body: Buffer;
  contentType: string;
}

/** The files that may be served, by name: nothing else under the directory is reachable. */
const CONTENT_TYPES: ReadonlyMap<string, string> = new Map([
  ['app.js', 'text/javascript; charset=utf-8'],
  ['app.css', 'text/css; charset=utf-8'],
  ['app.js.map', 'application/json; charset=utf-8'],
  ['app.css.map', 'application/json; charset=utf-8'],
  // The Playground tab (`@x/playground`, bundled beside the dashboard).
  ['playground.js', 'text/javascript; charset=utf-8'],
  ['playground.css', 'text/css; charset=utf-8'],
]);

/**
 * Where the built bundle is: `dist/ui/` next to the bundled server code (`dist/*.js`), or, when
 * running from source (`src/dashboard/`), the package's `dist/ui/`. `undefined` if neither holds
 * `app.js` (the UI was not built).
 */
export function defaultDashboardAssetsDirectory(): string | undefined {
  const candidates = [
    new URL('./ui/', import.meta.url),
    new URL('../../dist/ui/', import.meta.url),
  ];
  for (const candidate of candidates) {
    const directory = fileURLToPath(candidate);
    if (existsSync(`${directory}app.js`)) return directory;
  }
  return undefined;
}

/** Reads and caches the allowed files of one directory. */
export class StaticAssets {
  readonly #directory: string | undefined;
  readonly #cache = new Map<string, Promise<StaticAsset | undefined>>();

  /** @param directory the directory holding `app.js` and `app.css`; `undefined`: none built. */
  constructor(directory: string | undefined) {
    this.#directory = directory?.replace(/\/*$/, '/');
  }

  /** The asset called `name`, or `undefined` if it is not an allowed name or not there. */
  get(name: string): Promise<StaticAsset | undefined> {
    const contentType = CONTENT_TYPES.get(name);
    if (contentType === undefined || this.#directory === undefined) {
      return Promise.resolve(undefined);
    }
    let cached = this.#cache.get(name);
    if (cached === undefined) {
      cached = readFile(`${this.#directory}${name}`).then(
        (body) => ({ body, contentType }),
        () => {
          // Not cached: the bundle may be built while the server runs.
          this.#cache.delete(name);
          return undefined;
        },
      );
      this.#cache.set(name, cached);
    }
    return cached;
  }
}
