/**
 * Quorum mode with real kv-node processes through the CLI on loopback, every peer link through
 * the link proxy: the athens / byzantium / cyrene scenario over the HTTP API. A write reaches
 * only athens and cyrene (byzantium is cut off); byzantium comes back without repair and cyrene
 * goes offline (killed); then `quorum` and `linearizable` read the acknowledged write back from
 * byzantium, and `one` reads byzantium's stale value. Then: a definite 503 when no quorum is
 * left, and a member started in leader mode is refused by the quorum members.
 */

import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinkProxy } from '../src/cli/link-proxy.js';
import type { ClusterView as DashboardView } from '../src/dashboard/cluster-view.js';
import { buildDashboardBundleInto } from './e2e/dashboard-fixtures.js';
import { etcdctlPresent } from './support/etcd-binaries.js';
import { buildCli, freePorts } from './support/process-cluster.js';

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly args: string[];
  process: ChildProcess | undefined;
  readonly output: string[];
}

const names = ['athens', 'byzantium', 'cyrene'];
const appRoot = new URL('..', import.meta.url).pathname;
let root: string;
let buildDir: string;
let cliPath: string;
let proxy: LinkProxy;
const members = new Map<string, Member>();

function member(name: string): Member {
  return members.get(name) as Member;
}

function start(target: Member, extraArgs: string[] = []): void {
  const child = spawn(process.execPath, [cliPath, ...target.args, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer): void => {
    target.output.push(chunk.toString());
    if (target.output.length > 200) target.output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  target.process = child;
}

/** Stops the member's process by its pid and waits for it to exit. */
async function kill(target: Member, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const child = target.process;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid !== undefined) process.kill(child.pid, signal);
  await exited;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) {
      const logs = names.map((name) => `--- ${name}\n${member(name).output.join('')}`).join('\n');
      throw new Error(`timed out waiting until ${what}\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface ClusterView {
  replication: string;
  repair_backlog: number | null;
  members: { name: string; self: boolean; agreed: boolean; suspected: boolean; phi: number }[];
}

async function clusterView(name: string): Promise<ClusterView> {
  const response = await fetch(`${member(name).clientUrl}/v1/cluster`);
  return (await response.json()) as ClusterView;
}

/** Waits until `name` sees each of `up` agreed and not suspected, and each of `down` suspected. */
async function untilSees(name: string, up: string[], down: string[]): Promise<ClusterView> {
  return until(`${name} sees ${up.join(',')} up and ${down.join(',')} down`, async () => {
    const view = await clusterView(name);
    const state = (peer: string) => view.members.find((entry) => entry.name === peer);
    const ok =
      up.every((peer) => state(peer)?.agreed === true && state(peer)?.suspected === false) &&
      down.every((peer) => state(peer)?.suspected === true);
    return ok ? view : undefined;
  });
}

async function put(
  name: string,
  key: string,
  value: string,
  consistency = 'quorum',
): Promise<Response> {
  return fetch(`${member(name).clientUrl}/v1/kv/${key}?consistency=${consistency}`, {
    method: 'PUT',
    body: value,
  });
}

async function get(
  name: string,
  key: string,
  consistency: string,
): Promise<{ status: number; body: string }> {
  const response = await fetch(`${member(name).clientUrl}/v1/kv/${key}?consistency=${consistency}`);
  return { status: response.status, body: await response.text() };
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

async function v3(
  name: string,
  path: string,
  body: unknown,
  consistency?: string,
): Promise<Response> {
  return fetch(`${member(name).clientUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: consistency === undefined ? {} : { 'x-kv-consistency': consistency },
  });
}

/** etcd's v3 JSON put, range (one key and a prefix) and deleterange, coordinated by any member. */
async function v3RoundTrip(): Promise<void> {
  for (const [index, name] of names.entries()) {
    const put = await v3(
      name,
      '/v3/kv/put',
      { key: b64(`v3/${index}`), value: b64(name) },
      'linearizable',
    );
    expect(put.status).toBe(200);
  }
  const one = await v3('cyrene', '/v3/kv/range', { key: b64('v3/0') }, 'linearizable');
  expect(((await one.json()) as { kvs: { value: string }[] }).kvs[0]?.value).toBe(b64('athens'));
  const prefix = { key: b64('v3/'), range_end: b64('v30') };
  const all = (await (await v3('athens', '/v3/kv/range', prefix)).json()) as {
    count: string;
    kvs: { key: string }[];
  };
  expect(all.kvs.map((kv) => Buffer.from(kv.key, 'base64').toString())).toEqual([
    'v3/0',
    'v3/1',
    'v3/2',
  ]);
  const deleted = (await (
    await v3('byzantium', '/v3/kv/deleterange', prefix, 'quorum')
  ).json()) as {
    deleted: string;
  };
  expect(deleted.deleted).toBe('3');
  const none = (await (await v3('cyrene', '/v3/kv/range', prefix, 'linearizable')).json()) as {
    kvs?: unknown;
  };
  expect(none.kvs).toBeUndefined();
}

beforeAll(async () => {
  root = await mkdtemp(`${tmpdir()}/kv-quorum-`);
  // Inside the app, so the bundle resolves pino and prom-client from its node_modules.
  buildDir = `${appRoot}/dist-bench/quorum-test-${process.pid}`;
  cliPath = await buildCli(buildDir);
  // The dashboard's bundle beside the CLI, where a member looks for it (static-assets.ts).
  await buildDashboardBundleInto(`${buildDir}/ui`);
  const secretFile = `${root}/peer-secret`;
  await writeFile(secretFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const free = await freePorts(3 * names.length);
  const plan = names.map((name, index) => ({
    name,
    clientPort: free[3 * index] as number,
    realPeerPort: free[3 * index + 1] as number,
    proxyPort: free[3 * index + 2] as number,
  }));
  proxy = await LinkProxy.start({
    targets: plan.map((entry) => ({
      name: entry.name,
      host: '127.0.0.1',
      port: entry.realPeerPort,
      sharedPort: entry.proxyPort,
    })),
    linkListeners: false,
    random: { next: () => 0.5 },
    // The transport's hello names the dialer: that is how the proxy tells the links apart.
    sourceMarkers: new Map(plan.map((entry) => [entry.name, [Buffer.from(entry.name)]])),
  });
  const initialCluster = plan
    .map((entry) => `${entry.name}=http://127.0.0.1:${entry.proxyPort}`)
    .join(',');
  for (const entry of plan) {
    members.set(entry.name, {
      name: entry.name,
      clientUrl: `http://127.0.0.1:${entry.clientPort}`,
      args: [
        '--name',
        entry.name,
        '--data-dir',
        `${root}/${entry.name}`,
        '--listen-client-urls',
        `http://127.0.0.1:${entry.clientPort}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${entry.realPeerPort}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${entry.proxyPort}`,
        '--initial-cluster',
        initialCluster,
        '--peer-secret-file',
        secretFile,
        '--heartbeat-interval',
        '50',
        '--election-timeout',
        '500',
        '--log-level',
        'info',
        '--replication',
        'quorum',
        // "Without repair": anti-entropy would bring byzantium up to date on its own (that is
        // tested in quorum-mode.test.ts).
        '--anti-entropy-interval',
        '0',
      ],
      process: undefined,
      output: [],
    });
  }
  for (const name of names) start(member(name));
}, 120_000);

afterAll(async () => {
  await Promise.all([...members.values()].map((entry) => kill(entry)));
  await proxy?.close();
  await rm(root, { recursive: true, force: true });
  await rm(buildDir, { recursive: true, force: true });
});

describe('quorum mode with three processes: athens, byzantium, cyrene', { timeout: 90_000 }, () => {
  it('lists the configured members to etcd clients (JSON gateway, etcdctl over gRPC) and refuses changes saying why', async () => {
    const athens = member('athens');
    await until('athens answers', async () =>
      (await fetch(`${athens.clientUrl}/readyz`)).ok ? true : undefined,
    );
    const listed = await v3('athens', '/v3/cluster/member/list', {});
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as {
      header: { cluster_id: string; member_id: string };
      members: { ID: string; name: string; clientURLs?: string[]; isLearner?: boolean }[];
    };
    expect(body.members.map((entry) => entry.name).sort()).toEqual(names);
    expect(body.members.some((entry) => entry.isLearner === true)).toBe(false);
    const self = body.members.find((entry) => entry.name === 'athens');
    expect(self?.ID).toBe(body.header.member_id);
    expect(self?.clientURLs).toEqual([athens.clientUrl]);
    for (const change of ['add', 'remove', 'update', 'promote']) {
      const refused = await v3('athens', `/v3/cluster/member/${change}`, {
        ID: self?.ID,
        peerURLs: ['http://127.0.0.1:1'],
      });
      expect(refused.status, change).toBe(501);
      expect(((await refused.json()) as { error: string }).error).toMatch(
        /not available with --replication quorum: its members are fixed by --initial-cluster/,
      );
    }
    if (!etcdctlPresent) return;
    const etcdctl = (...args: string[]) =>
      promisify(execFile)(
        'etcdctl',
        [`--endpoints=${athens.clientUrl}`, '--dial-timeout=5s', '--command-timeout=10s', ...args],
        { env: { ...process.env, ETCDCTL_API: '3' } },
      );
    const { stdout } = await etcdctl('member', 'list');
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const name of names) expect(lines.some((line) => line.includes(`, ${name}, `))).toBe(true);
    const added = await etcdctl('member', 'add', 'delphi', '--peer-urls=http://127.0.0.1:1').then(
      () => '',
      (error: { stderr?: string }) => error.stderr ?? '',
    );
    expect(added).toMatch(/members are fixed by --initial-cluster/);
  });

  it('reads the acknowledged write back with quorum and linearizable after byzantium comes back without repair and cyrene goes offline; one reads stale', async () => {
    for (const name of names) {
      const view = await untilSees(
        name,
        names.filter((peer) => peer !== name),
        [],
      );
      expect(view.replication).toBe('quorum');
      // Anti-entropy is off here (--anti-entropy-interval 0): no round, so no backlog to report.
      expect(view.repair_backlog).toBeNull();
    }
    await v3RoundTrip();
    const keys = ['title-one', 'title-quorum', 'title-linearizable'];
    for (const key of keys)
      expect((await put('athens', key, 'Distributed Systems')).status).toBe(200);
    for (const name of names) {
      for (const key of keys) {
        await until(`${name} stores ${key}`, async () =>
          (await get(name, key, 'one')).body === 'Distributed Systems' ? true : undefined,
        );
      }
    }

    // The write reaches only athens and cyrene: byzantium is cut off (and suspected first).
    proxy.isolate('byzantium');
    await untilSees('athens', ['cyrene'], ['byzantium']);
    for (const key of keys) expect((await put('athens', key, 'Microservices')).status).toBe(200);

    // Byzantium comes back without repair; cyrene goes offline.
    await kill(member('cyrene'));
    proxy.cutNode('cyrene');
    proxy.healAll();
    await untilSees('byzantium', ['athens'], ['cyrene']);

    // `one`: byzantium answers from its own copy, which missed the write.
    const stale = await get('byzantium', 'title-one', 'one');
    expect(stale).toEqual({ status: 200, body: 'Distributed Systems' });

    // `quorum` and `linearizable`: the newest of a read quorum (athens and byzantium).
    expect(await get('byzantium', 'title-quorum', 'quorum')).toEqual({
      status: 200,
      body: 'Microservices',
    });
    expect(await get('byzantium', 'title-linearizable', 'linearizable')).toEqual({
      status: 200,
      body: 'Microservices',
    });
    // The linearizable read wrote the value back to a write quorum before answering.
    expect(await get('byzantium', 'title-linearizable', 'one')).toEqual({
      status: 200,
      body: 'Microservices',
    });
  });

  it('serves each member’s own dashboard at /ui/, with its replica and its peers as it sees them', async () => {
    const page = await fetch(`${member('athens').clientUrl}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<title>kv-node athens</title>');
    expect((await fetch(`${member('athens').clientUrl}/ui/assets/app.js`)).status).toBe(200);
    // Byzantium runs, cyrene is down since the previous test: athens suspects cyrene.
    await untilSees('athens', ['byzantium'], ['cyrene']);
    const view = await until('athens’ dashboard shows cyrene suspected', async () => {
      const answer = await fetch(`${member('athens').clientUrl}/ui/api/view`);
      const body = (await answer.json()) as DashboardView;
      const cyrene = body.nodes.find((node) => node.name === 'cyrene');
      return cyrene?.suspectedByPeers === true ? body : undefined;
    });
    expect(view.leader).toBeNull();
    expect(view.nodes.map((node) => [node.name, node.role])).toEqual(
      names.map((name) => [name, 'quorum']),
    );
    const athens = view.nodes.find((node) => node.name === 'athens');
    expect(athens?.quorum?.keys).toBeGreaterThanOrEqual(3);
    expect(athens?.clientUrl).toBe(member('athens').clientUrl);
    expect(view.nodes.find((node) => node.name === 'byzantium')?.suspectedByPeers).toBe(false);
  });

  it('answers a definite 503 at once when suspected members leave no quorum, and `one` still serves', async () => {
    // Cyrene is down since the previous test; cut athens off too.
    proxy.isolate('athens');
    await untilSees('byzantium', [], ['athens', 'cyrene']);
    const refused = await put('byzantium', 'k', 'v', 'quorum');
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ reason: 'unavailable', definite: true });
    expect((await get('byzantium', 'k', 'linearizable')).status).toBe(503);
    expect((await put('byzantium', 'k', 'v', 'one')).status).toBe(200);
    const health = await fetch(`${member('byzantium').clientUrl}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ health: 'false' });
    const txn = await fetch(`${member('byzantium').clientUrl}/v3/kv/txn`, {
      method: 'POST',
      body: '{}',
    });
    expect(txn.status).toBe(501);
    const metrics = await (await fetch(`${member('byzantium').clientUrl}/metrics`)).text();
    expect(metrics).toContain('kv_replication_mode{mode="quorum"} 1');
    expect(metrics).toContain('kv_peer_suspected{peer="athens"} 1');
    proxy.healAll();
  });

  it('stops quorum members when a member is started in leader mode', async () => {
    const leaderMode = member('cyrene').args.filter(
      (arg, index, args) => arg !== 'quorum' && args[index + 1] !== 'quorum',
    );
    const cyrene = member('cyrene');
    const child = spawn(
      process.execPath,
      [cliPath, ...leaderMode, '--data-dir', `${root}/cyrene-leader`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    cyrene.process = child;
    child.stdout.on('data', (chunk: Buffer) => cyrene.output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => cyrene.output.push(chunk.toString()));
    const stopped = await until('a quorum member stops', () => {
      const exited = ['athens', 'byzantium'].find((name) => {
        const exitCode = member(name).process?.exitCode;
        return exitCode !== null && exitCode !== undefined;
      });
      return Promise.resolve(exited);
    });
    expect(member(stopped).process?.exitCode).toBe(1);
    expect(member(stopped).output.join('')).toMatch(
      /cyrene .*--replication leader|cyrene does not run --replication quorum/,
    );
  });
});
