/**
 * The dashboard's HTTP routes, all under `/ui`: the page, its bundle, the live stream of cluster
 * views (server-sent events) and, in demo mode, the fault-injection actions. Mounted in front of
 * another request listener: {@link DashboardHandler.handle} answers `/ui` requests and returns
 * `false` for everything else.
 *
 * Routes:
 * - `GET /ui` redirects to `/ui/`; `GET /ui/` is the page.
 * - `GET /ui/playground`: the Playground tab (a simulated cluster run in the page).
 * - `GET /ui/assets/app.js`, `app.css` (and their source maps), `playground.js`,
 *   `playground.css`: the bundle.
 * - `GET /ui/events`: `text/event-stream` of `view` events, each a {@link ClusterView}.
 * - `GET /ui/api/view`: the latest {@link ClusterView} as JSON.
 * - `POST /ui/api/demo/{kill|restart|pause|resume|partition|heal}` with `{"node":"name"}`
 *   (demo mode only): answers a {@link DemoActionResult}.
 * - `POST /ui/api/members/{add|remove|replace}` with `{"node":"name"}` (`{}` for `add`), only
 *   with a {@link MemberControl} (the launcher of `kv-node cluster`): answers a
 *   {@link DemoActionResult} once the change is complete. The request's `Authorization` is
 *   passed on to the member API, which decides as it always does.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ActionFamily, admitAction } from './action-gate.js';
import type { ClusterStatusSource } from './cluster-status-source.js';
import type { ClusterView, DemoAction, DemoActionResult, MemberAction } from './cluster-view.js';
import { ClusterObserver } from './cluster-observer.js';
import { dashboardHtml, missingBundleHtml, playgroundHtml } from './dashboard-html.js';
import type { Clock, Timers } from './dashboard-ports.js';
import type { DemoControl } from './demo-control.js';
import type { MemberControl } from './member-control.js';
import { HostAllowlist } from '../http/host-allowlist.js';
import { InjectedFaults } from './injected-faults.js';
import { monotonicClock, unrefTimers, wallClock } from './node-timers-adapter.js';
import { SseHub, encodeEvent } from './sse-hub.js';
import { StaticAssets, defaultDashboardAssetsDirectory } from './static-assets.js';

/** Options of {@link createDashboardHandler}. */
export interface DashboardOptions {
  /** Where the cluster's state is read from. */
  statusSource: ClusterStatusSource;
  /** The demo actions; without it the page shows no buttons and the action routes answer 404. */
  demo?: DemoControl;
  /**
   * Membership changes of the local cluster; without it the page shows no member buttons and
   * the member routes answer 404. Only the local cluster launcher, which runs the member
   * processes, provides it.
   */
  members?: MemberControl;
  /** Pause between samples of the cluster, in ms (default 500). */
  pollIntervalMs?: number;
  /** The heading of the page (default `kv-node cluster`). */
  title?: string;
  /** Directory of the built bundle (default: {@link defaultDashboardAssetsDirectory}). */
  assetsDirectory?: string;
  /** Most event streams open at once (default 32). */
  maxStreams?: number;
  /** Timers for polling (default: Node timers that do not keep the process alive). */
  timers?: Timers;
  /** Monotonic clock for rates (default `performance.now`). */
  clock?: Clock;
  /** Wall clock for displayed times (default `Date.now`). */
  wallClock?: Clock;
  /**
   * Host names the dashboard answers (`*`: any); other `Host` headers get 403, pages and demo
   * actions alike, so a DNS-rebinding web page cannot drive it. Default: loopback names only.
   */
  allowedHosts?: readonly string[];
}

/** The dashboard mounted in an HTTP server. */
export interface DashboardHandler {
  /**
   * Answers the request if its path is `/ui` or under `/ui/` and returns `true`; returns `false`
   * without touching the request otherwise.
   */
  handle(request: IncomingMessage, response: ServerResponse): boolean;
  /** Stops polling and ends every event stream; call before closing the HTTP server. */
  close(): void;
}

const DEMO_FAMILY: ActionFamily = {
  noun: 'demo',
  actions: new Set<DemoAction>(['kill', 'restart', 'pause', 'resume', 'partition', 'heal']),
  unavailable: 'demo mode is off: it is available when kv-node runs as `kv-node cluster`',
  nodeOptionalFor: 'heal',
};

const MEMBER_FAMILY: ActionFamily = {
  noun: 'member',
  actions: new Set<MemberAction>(['add', 'remove', 'replace']),
  unavailable:
    'member changes from the dashboard are available when kv-node runs as ' +
    '`kv-node cluster`; otherwise use the member API (etcdctl member ...)',
  nodeOptionalFor: 'add',
};

const PAGE_SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function sendText(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  response.end(JSON.stringify(value));
}

/**
 * Creates the dashboard: starts sampling the cluster at once and returns the `/ui` request
 * handler.
 *
 * @throws RangeError if an `allowedHosts` entry is no host name.
 */
export function createDashboardHandler(options: DashboardOptions): DashboardHandler {
  const demo = options.demo;
  const hosts =
    options.allowedHosts === undefined
      ? HostAllowlist.loopback()
      : HostAllowlist.of(options.allowedHosts);
  const faults = new InjectedFaults();
  const observer = new ClusterObserver({
    injectedFaults: () => faults.current(),
    source: options.statusSource,
    intervalMs: options.pollIntervalMs ?? 500,
    demo: demo !== undefined,
    memberChanges: options.members !== undefined,
    timers: options.timers ?? unrefTimers,
    clock: options.clock ?? monotonicClock,
    wallClock: options.wallClock ?? wallClock,
  });
  const streams = new SseHub(options.maxStreams ?? 32);
  const assets = new StaticAssets(options.assetsDirectory ?? defaultDashboardAssetsDirectory());
  const page = dashboardHtml(options.title ?? 'kv-node cluster');
  const playgroundPage = playgroundHtml(options.title ?? 'kv-node cluster');
  observer.subscribe((view) => streams.broadcast(encodeEvent('view', view)));
  observer.start();

  const latestView = async (): Promise<ClusterView> => observer.latest ?? observer.refresh();

  async function serveAsset(name: string, method: string, response: ServerResponse) {
    const asset = await assets.get(name);
    if (asset === undefined) {
      sendText(response, 404, `no asset ${name}\n`);
      return;
    }
    response.writeHead(200, {
      'content-type': asset.contentType,
      'content-length': String(asset.body.length),
      // The bundle is not content-hashed: revalidate so a rebuilt node never serves a stale page.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    response.end(method === 'HEAD' ? undefined : asset.body);
  }

  /** A page whose script is `script`; the missing-bundle page (503) while it is not built. */
  async function servePage(html: string, script: string, method: string, response: ServerResponse) {
    if ((await assets.get(script)) === undefined) {
      response.writeHead(503, { 'content-type': 'text/html; charset=utf-8' });
      response.end(missingBundleHtml());
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      ...PAGE_SECURITY_HEADERS,
    });
    response.end(method === 'HEAD' ? undefined : html);
  }

  /**
   * Runs an action of `family` that the gate admits: `perform` does it with the family's control
   * and returns the message to show; a failure answers 409 with its message.
   */
  async function runAction<Control>(
    family: ActionFamily,
    control: Control | undefined,
    action: string,
    request: IncomingMessage,
    response: ServerResponse,
    perform: (control: Control, node: string | undefined) => Promise<string>,
  ): Promise<void> {
    const admission = await admitAction(family, control, action, request);
    if (!admission.admitted) {
      sendJson(response, admission.status, admission.result);
      return;
    }
    let message: string;
    try {
      message = await perform(admission.control, admission.node);
    } catch (error) {
      sendJson(response, 409, {
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      } satisfies DemoActionResult);
      return;
    }
    sendJson(response, 200, { ok: true, message } satisfies DemoActionResult);
    // Show the effect at once rather than at the next poll.
    void observer.refresh();
  }

  async function performDemoAction(
    control: DemoControl,
    action: DemoAction,
    target: string,
  ): Promise<string> {
    // Every action but heal is the control's method of that name, applied to one member.
    if (action === 'heal') await control.heal();
    else await control[action](target);
    faults.record(action, target);
    return action === 'heal' ? 'healed every partition' : `${action}: ${target}`;
  }

  function performMemberAction(
    control: MemberControl,
    action: MemberAction,
    node: string,
    authorization: string | undefined,
  ): Promise<string> {
    switch (action) {
      case 'add':
        return control.add(authorization);
      case 'remove':
        return control.remove(node, authorization);
      case 'replace':
        return control.replace(node, authorization);
    }
  }

  /** The POST-only action routes: their prefix and how an action under it runs. */
  const actionRoutes: ReadonlyArray<{
    prefix: string;
    run(action: string, request: IncomingMessage, response: ServerResponse): Promise<void>;
  }> = [
    {
      prefix: '/ui/api/members/',
      run: (action, request, response) =>
        runAction(MEMBER_FAMILY, options.members, action, request, response, (control, node) =>
          performMemberAction(
            control,
            action as MemberAction,
            node ?? '',
            request.headers.authorization,
          ),
        ),
    },
    {
      prefix: '/ui/api/demo/',
      run: (action, request, response) =>
        runAction(DEMO_FAMILY, demo, action, request, response, (control, node) =>
          performDemoAction(control, action as DemoAction, node ?? ''),
        ),
    },
  ];

  async function route(request: IncomingMessage, response: ServerResponse, path: string) {
    const method = request.method ?? 'GET';
    const readOnly = method === 'GET' || method === 'HEAD';
    const actionRoute = actionRoutes.find((candidate) => path.startsWith(candidate.prefix));
    if (actionRoute !== undefined) {
      if (method !== 'POST') {
        sendText(response, 405, 'use POST\n', { allow: 'POST' });
        return;
      }
      await actionRoute.run(path.slice(actionRoute.prefix.length), request, response);
      return;
    }
    if (!readOnly) {
      sendText(response, 405, `method ${method} not allowed on ${path}\n`, { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/ui') {
      const query = request.url?.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      response.writeHead(308, { location: `/ui/${query}` });
      response.end();
      return;
    }
    if (path === '/ui/' || path === '/ui/index.html') {
      await servePage(page, 'app.js', method, response);
      return;
    }
    if (path === '/ui/playground') {
      await servePage(playgroundPage, 'playground.js', method, response);
      return;
    }
    if (path === '/ui/playground/') {
      // The page's relative asset links resolve from /ui/, not from /ui/playground/.
      const query = request.url?.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      response.writeHead(308, { location: `/ui/playground${query}` });
      response.end();
      return;
    }
    if (path.startsWith('/ui/assets/')) {
      await serveAsset(path.slice('/ui/assets/'.length), method, response);
      return;
    }
    if (path === '/ui/events') {
      streams.open(request, response, observer.latest && encodeEvent('view', observer.latest));
      return;
    }
    if (path === '/ui/api/view') {
      sendJson(response, 200, await latestView());
      return;
    }
    sendText(response, 404, `no dashboard route ${path}\n`);
  }

  return {
    handle(request, response) {
      const target = request.url ?? '/';
      const query = target.indexOf('?');
      const path = query < 0 ? target : target.slice(0, query);
      if (path !== '/ui' && !path.startsWith('/ui/')) return false;
      if (hosts.refuse(request, response)) return true;
      route(request, response, path).catch((error: unknown) => {
        if (!response.headersSent) {
          sendText(response, 500, `dashboard error: ${(error as Error).message}\n`);
        } else {
          response.destroy();
        }
      });
      return true;
    },
    close() {
      observer.close();
      streams.close();
    },
  };
}
