/** Sends the demo buttons' actions to the server. */

import type { DemoAction, DemoActionResult, MemberAction } from '../src/dashboard/cluster-view.js';

/**
 * Asks the server to perform `action` on `node` (no node for `heal`). Resolves with the
 * server's answer; a network failure resolves with `ok: false` and the reason.
 */
export function sendDemoAction(action: DemoAction, node?: string): Promise<DemoActionResult> {
  return post(`api/demo/${action}`, node);
}

/**
 * Asks the launcher to make a membership change (`add` takes no node). Resolves once the change
 * is complete, with the server's answer; a network failure resolves with `ok: false`.
 */
export function sendMemberAction(action: MemberAction, node?: string): Promise<DemoActionResult> {
  return post(`api/members/${action}`, node);
}

async function post(path: string, node: string | undefined): Promise<DemoActionResult> {
  try {
    const response = await fetch(new URL(path, document.baseURI), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(node === undefined ? {} : { node }),
    });
    return (await response.json()) as DemoActionResult;
  } catch (error) {
    return { ok: false, message: `request failed: ${String(error)}` };
  }
}
