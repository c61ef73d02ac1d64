/**
 * The one gate every dashboard action (demo faults and member changes alike) passes before it
 * runs: the family must be on, the action must be one of its own, the request must be same-origin
 * JSON, and the body must name a node unless the action needs none. The gate answers nothing
 * itself: it says what to answer, so the handler keeps the one place that writes responses.
 */

import type { IncomingMessage } from 'node:http';
import type { DemoActionResult } from './cluster-view.js';

/** A family of dashboard actions under one route prefix (`/ui/api/demo/`, `/ui/api/members/`). */
export interface ActionFamily {
  /** The word messages name the family by: `demo`, `member`. */
  noun: string;
  /** The actions the family has. */
  actions: ReadonlySet<string>;
  /** Why the family answers 404 while its control is missing, and what to use instead. */
  unavailable: string;
  /** The one action whose body needs no node name (`heal`, `add`). */
  nodeOptionalFor: string;
}

/**
 * What the gate decided: run the action with the family's control and the node the body names,
 * or answer `status` with `result`.
 */
export type ActionAdmission<Control> =
  | { admitted: true; control: Control; node: string | undefined }
  | { admitted: false; status: 400 | 403 | 404; result: DemoActionResult };

const MAX_ACTION_BODY_BYTES = 1024;

/**
 * Decides whether `action` of `family` may run for `request`; reads the request's body when the
 * checks before it pass.
 *
 * @param control the family's control; `undefined` when the dashboard was given none.
 */
export async function admitAction<Control>(
  family: ActionFamily,
  control: Control | undefined,
  action: string,
  request: IncomingMessage,
): Promise<ActionAdmission<Control>> {
  if (control === undefined) return refuse(404, family.unavailable);
  if (!family.actions.has(action)) return refuse(404, `no ${family.noun} action ${action}`);
  if (!isSameOriginJson(request)) {
    return refuse(
      403,
      `${family.noun} actions need a same-origin request with content-type application/json`,
    );
  }
  const body = await readSmallBody(request, MAX_ACTION_BODY_BYTES);
  const node = body === undefined ? undefined : parseNodeName(body);
  if (action !== family.nodeOptionalFor && node === undefined) {
    return refuse(400, 'the body must be {"node":"<member name>"}');
  }
  return { admitted: true, control, node };
}

function refuse(status: 400 | 403 | 404, message: string): ActionAdmission<never> {
  return { admitted: false, status, result: { ok: false, message } };
}

/**
 * Actions change the cluster, so a page on another site must not be able to trigger them: a JSON
 * content type forces a CORS preflight (which nothing here answers), and a browser's Origin, when
 * sent, must name this very host.
 */
function isSameOriginJson(request: IncomingMessage): boolean {
  const contentType = request.headers['content-type'] ?? '';
  if (!contentType.toLowerCase().startsWith('application/json')) return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** Reads a small body; `undefined` when it is larger than `limit` bytes. */
function readSmallBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });
}

function parseNodeName(body: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const node = (value as Record<string, unknown>)['node'];
  return typeof node === 'string' && node.length > 0 && node.length <= 128 ? node : undefined;
}
