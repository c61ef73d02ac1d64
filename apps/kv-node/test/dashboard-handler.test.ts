import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterView } from '../src/dashboard/cluster-view.js';
import { createDashboardHandler } from '../src/dashboard/dashboard-handler.js';
import type { DashboardHandler } from '../src/dashboard/dashboard-handler.js';
import { startDashboardServer } from '../src/dashboard/dashboard-server.js';
import type { RunningDashboardServer } from '../src/dashboard/dashboard-server.js';
import { InjectedFaults } from '../src/dashboard/injected-faults.js';
import { createSignalDemoControl } from '../src/dashboard/signal-demo-control.js';
import { statusSourceFromClusterStatus } from '../src/dashboard/node-status-source.js';
import { createApiHandler, createHttpServer } from '../src/http/http-api.js';
import { NodeMetrics } from '../src/metrics/node-metrics.js';
import { DirectBackend } from './support/direct-backend.js';
import { FakeCluster } from './e2e/fake-cluster.js';
import { readEvents } from './e2e/dashboard-fixtures.js';

let assetsDirectory: string;

beforeAll(async () => {
  assetsDirectory = await mkdtemp(`${tmpdir()}/kv-dashboard-assets-`);
  await writeFile(`${assetsDirectory}/app.js`, 'console.log("dashboard");\n');
  await writeFile(`${assetsDirectory}/app.css`, 'body { color: black; }\n');
  await writeFile(`${assetsDirectory}/secret.txt`, 'not served\n');
});

afterAll(async () => {
  await rm(assetsDirectory, { recursive: true, force: true });
});

describe('dashboard routes with demo mode', () => {
  let cluster: FakeCluster;
  let server: RunningDashboardServer;
  let base: string;

  beforeAll(async () => {
    cluster = new FakeCluster();
    server = await startDashboardServer({
      port: 0,
      statusSource: cluster,
      demo: cluster,
      pollIntervalMs: 50,
      assetsDirectory,
      title: 'test <cluster>',
    });
    base = server.url.replace(/\/ui\/$/, '');
  });

  afterAll(async () => {
    await server.close();
  });

  it('redirects /ui and / to the page, which links the bundle', async () => {
    const redirect = await fetch(`${base}/ui?x=1`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/ui/?x=1');
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.headers.get('location')).toBe('/ui/');
    const page = await fetch(`${base}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('src="assets/app.js"');
    expect(html).toContain('test &#60;cluster&#62;');
  });

  it('serves only the bundle files', async () => {
    const script = await fetch(`${base}/ui/assets/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toContain('dashboard');
    expect((await fetch(`${base}/ui/assets/app.css`)).status).toBe(200);
    expect((await fetch(`${base}/ui/assets/secret.txt`)).status).toBe(404);
    expect((await fetch(`${base}/ui/assets/..%2Fsecret.txt`)).status).toBe(404);
    expect((await fetch(`${base}/ui/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/ui/`, { method: 'DELETE' })).status).toBe(405);
  });

  it('streams views as server-sent events', async () => {
    const response = await fetch(`${base}/ui/events`);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const [first, second] = (await readEvents(response, 2)) as ClusterView[];
    expect(first?.leader).toBe('node-1');
    expect(first?.demo).toBe(true);
    expect(first?.nodes.map((node) => node.name)).toEqual(['node-1', 'node-2', 'node-3']);
    expect(second?.sampledAtMs).toBeGreaterThanOrEqual(first?.sampledAtMs ?? 0);
  });

  it('runs demo actions and reports failures', async () => {
    const post = (action: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}/ui/api/demo/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const killed = await post('kill', { node: 'node-2' });
    expect(killed.status).toBe(200);
    expect(await killed.json()).toEqual({ ok: true, message: 'kill: node-2' });
    expect(cluster.actions).toContain('kill node-2');
    const view = (await (await fetch(`${base}/ui/api/view`)).json()) as ClusterView;
    expect(view.injectedFaults).toEqual({ 'node-2': 'killed' });

    const partition = await post('partition', { node: 'node-3' });
    expect(partition.status).toBe(200);
    expect(await partition.json()).toEqual({ ok: true, message: 'partition: node-3' });
    const partitioned = (await (await fetch(`${base}/ui/api/view`)).json()) as ClusterView;
    expect(partitioned.injectedFaults).toEqual({ 'node-2': 'killed', 'node-3': 'partitioned' });
    expect(partitioned.nodes.find((node) => node.name === 'node-3')?.role).toBe('follower');

    expect((await post('restart', { node: 'node-2' })).status).toBe(200);
    const healed = await post('heal', {});
    expect(healed.status).toBe(200);
    expect(await healed.json()).toEqual({ ok: true, message: 'healed every partition' });
    expect(cluster.actions).toEqual(['kill node-2', 'partition node-3', 'restart node-2', 'heal']);
    const after = (await (await fetch(`${base}/ui/api/view`)).json()) as ClusterView;
    expect(after.injectedFaults).toEqual({});
    expect((await post('explode', { node: 'node-1' })).status).toBe(404);
    expect((await post('kill', {})).status).toBe(400);
    expect((await post('kill', { node: 'node-1' }, { origin: 'http://evil.example' })).status).toBe(
      403,
    );
    const plain = await fetch(`${base}/ui/api/demo/kill`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"node":"node-1"}',
    });
    expect(plain.status).toBe(403);
    expect(cluster.actions).not.toContain('kill node-1');
  });
});

describe('dashboard member routes (the launcher of `kv-node cluster`)', () => {
  const calls: string[] = [];
  let server: RunningDashboardServer;
  let base: string;

  beforeAll(async () => {
    const cluster = new FakeCluster();
    server = await startDashboardServer({
      port: 0,
      statusSource: cluster,
      demo: cluster,
      members: {
        add: (authorization) => {
          calls.push(`add ${authorization ?? '-'}`);
          return Promise.resolve('node-4 added');
        },
        remove: (name, authorization) => {
          calls.push(`remove ${name} ${authorization ?? '-'}`);
          return Promise.reject(new Error('etcdserver: user name is empty'));
        },
        replace: (name, authorization) => {
          calls.push(`replace ${name} ${authorization ?? '-'}`);
          return Promise.resolve(`${name} replaced`);
        },
      },
      pollIntervalMs: 50,
      assetsDirectory,
    });
    base = server.url.replace(/\/ui\/$/, '');
  });

  afterAll(async () => {
    await server.close();
  });

  it('passes the caller’s Authorization on, reports refusals, and refuses cross-site requests', async () => {
    const post = (action: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}/ui/api/members/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const view = (await (await fetch(`${base}/ui/api/view`)).json()) as ClusterView;
    expect(view.memberChanges).toBe(true);
    const added = await post('add', {});
    expect(added.status).toBe(200);
    expect(await added.json()).toEqual({ ok: true, message: 'node-4 added' });
    const refused = await post('remove', { node: 'node-2' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toEqual({ ok: false, message: 'etcdserver: user name is empty' });
    const replaced = await post('replace', { node: 'node-3' }, { authorization: 'admin-token' });
    expect(await replaced.json()).toEqual({ ok: true, message: 'node-3 replaced' });
    expect((await post('remove', {})).status).toBe(400);
    expect((await post('grow', {})).status).toBe(404);
    expect((await post('add', {}, { origin: 'http://evil.example' })).status).toBe(403);
    const plain = await fetch(`${base}/ui/api/members/add`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(plain.status).toBe(403);
    expect((await fetch(`${base}/ui/api/members/add`)).status).toBe(405);
    expect(calls).toEqual(['add -', 'remove node-2 -', 'replace node-3 admin-token']);
  });
});

describe('dashboard handler mounted in front of another API', () => {
  let server: Server;
  let dashboard: DashboardHandler;
  let base: string;

  beforeAll(async () => {
    dashboard = createDashboardHandler({
      statusSource: new FakeCluster(),
      pollIntervalMs: 50,
      assetsDirectory,
    });
    server = createServer((request, response) => {
      if (dashboard.handle(request, response)) return;
      response.end('api');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });

  afterAll(async () => {
    dashboard.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('passes other paths through and refuses demo actions without demo mode', async () => {
    expect(await (await fetch(`${base}/v1/cluster`)).text()).toBe('api');
    expect(await (await fetch(`${base}/uix`)).text()).toBe('api');
    const demo = await fetch(`${base}/ui/api/demo/kill`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"node":"node-1"}',
    });
    expect(demo.status).toBe(404);
    const members = await fetch(`${base}/ui/api/members/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(members.status).toBe(404);
    const view = (await (await fetch(`${base}/ui/api/view`)).json()) as ClusterView;
    expect(view.demo).toBe(false);
    expect(view.memberChanges).toBe(false);
  });

  it('ends open streams on close, so the server can close at once', async () => {
    const response = await fetch(`${base}/ui/events`);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect(new TextDecoder().decode(first.value as Uint8Array)).toMatch(
      /^(event|data|:|retry|id)/m,
    );
    dashboard.close();
    // The stream ends (rather than staying open until the client gives up): read to its end.
    let ended = false;
    for (let reads = 0; reads < 1000 && !ended; reads += 1) {
      ended = (await reader.read()).done;
    }
    expect(ended).toBe(true);
  });
});

describe('missing bundle', () => {
  it('answers the page with how to build it', async () => {
    const empty = await mkdtemp(`${tmpdir()}/kv-dashboard-empty-`);
    const server = await startDashboardServer({
      port: 0,
      statusSource: new FakeCluster(),
      assetsDirectory: empty,
    });
    try {
      const page = await fetch(server.url);
      expect(page.status).toBe(503);
      expect(await page.text()).toContain('pnpm --filter @x/kv-node build');
    } finally {
      await server.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('createSignalDemoControl', () => {
  it('signals the member’s pid and says when it is not running', async () => {
    const sent: string[] = [];
    const control = createSignalDemoControl({
      pidOf: (name) => (name === 'node-1' ? 4242 : undefined),
      restart: (name) => {
        sent.push(`restart ${name}`);
        return Promise.resolve();
      },
      signal: (pid, signal) => sent.push(`${signal} ${pid}`),
    });
    await control.kill('node-1');
    await control.pause('node-1');
    await control.resume('node-1');
    await control.restart('node-1');
    expect(sent).toEqual(['SIGKILL 4242', 'SIGSTOP 4242', 'SIGCONT 4242', 'restart node-1']);
    await expect(control.kill('node-2')).rejects.toThrow('node-2 is not running');
    await expect(control.partition('node-1')).rejects.toThrow('partition is not available');
    await expect(control.heal()).rejects.toThrow('partition is not available');
  });

  it('leaves partition and heal to the launcher that has a proxy', async () => {
    const done: string[] = [];
    const control = createSignalDemoControl({
      pidOf: () => undefined,
      restart: () => Promise.resolve(),
      partition: (name) => {
        done.push(`partition ${name}`);
        return Promise.resolve();
      },
      heal: () => {
        done.push('heal');
        return Promise.resolve();
      },
    });
    await control.partition('node-2');
    await control.heal();
    expect(done).toEqual(['partition node-2', 'heal']);
  });
});

describe('InjectedFaults', () => {
  it('keeps a partition through a kill and a restart, until heal', () => {
    const faults = new InjectedFaults();
    faults.record('partition', 'node-1');
    faults.record('pause', 'node-2');
    expect(faults.current()).toEqual({ 'node-1': 'partitioned', 'node-2': 'paused' });
    faults.record('kill', 'node-1');
    expect(faults.current()).toEqual({ 'node-1': 'killed', 'node-2': 'paused' });
    faults.record('restart', 'node-1');
    faults.record('resume', 'node-2');
    expect(faults.current()).toEqual({ 'node-1': 'partitioned' });
    faults.record('heal', '');
    expect(faults.current()).toEqual({});
  });
});

describe('dashboard wired into the kv-node HTTP server (the lead’s wiring)', () => {
  it('serves /ui from the node’s own status and leaves every API route to the API', async () => {
    const backend = new DirectBackend();
    const api = createApiHandler({ backend, metrics: new NodeMetrics({ processMetrics: false }) });
    const dashboard = createDashboardHandler({
      statusSource: statusSourceFromClusterStatus(() => backend.status()),
      assetsDirectory,
    });
    const server = createHttpServer((request, response) => {
      if (!dashboard.handle(request, response)) api(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    try {
      const view = (await (await fetch(`${base}/ui/api/view`)).json()) as ClusterView;
      const status = backend.status();
      expect(view.nodes.map((node) => node.name)).toEqual(
        status.members.map((member) => member.name),
      );
      expect(view.nodes.find((node) => node.name === status.name)).toMatchObject({
        generation: status.generation,
        snapshotIndex: status.snapshotIndex,
        appliedIndex: status.appliedIndex,
      });
      // The old page's address leads to this dashboard.
      const moved = await fetch(`${base}/dashboard`, { redirect: 'manual' });
      expect(moved.status).toBe(308);
      expect(moved.headers.get('location')).toBe('/ui/');
      const cluster = (await (await fetch(`${base}/v1/cluster`)).json()) as { name: string };
      expect(cluster.name).toBe(status.name);
      expect((await fetch(`${base}/ui/`)).status).toBe(200);
    } finally {
      dashboard.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
