/** Sends the demo buttons' actions to the server. */

import type { DemoAction, DemoActionResult } from '../src/dashboard/cluster-view.js';

/**
 * Asks the server to perform `action` on `node` (no node for `heal`). Resolves with the
 * server's answer; a network failure resolves with `ok: false` and the reason.
 */
export async function sendDemoAction(action: DemoAction, node?: string): Promise<DemoActionResult> {
  try {
    const response = await fetch(new URL(`api/demo/${action}`, document.baseURI), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(node === undefined ? {} : { node }),
    });
    return (await response.json()) as DemoActionResult;
  } catch (error) {
    return { ok: false, message: `request failed: ${String(error)}` };
  }
}
