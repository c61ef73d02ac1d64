/**
 * The playground on a page of its own (kv-node dashboard's Playground tab): mounts it on the
 * page's `#playground-root` as soon as the script loads. The docs site loads `app.ts` through its
 * own loader instead (docs/playground/loader.js), which mounts it only on the playground page.
 */

import { mountPlayground } from './app.js';

const root = document.getElementById('playground-root');
if (root !== null) {
  mountPlayground(root).catch((error: unknown) => {
    root.setAttribute('data-error', String(error));
    root.textContent = `The playground could not start: ${String(error)}`;
  });
}
