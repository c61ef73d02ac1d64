/**
 * The StatefulSet's membership steps played by real processes: each "pod" is
 * `node deploy/container/member-start.mjs <member command>` with the environment the manifest
 * gives (on loopback ports), and the pre-stop step is `node deploy/container/member-leave.mjs`
 * with the pod's environment, asking a stand-in for the Kubernetes API (an HTTP server that
 * answers the StatefulSet's desired replicas) whether this is a scale-down. One cluster goes
 * through bootstrap, scale-up 3 → 4, a restart, scale-down 4 → 3, a scaled-down volume brought
 * back, and a lost volume (refused, then replaced automatically).
 *
 * The members are kv-node (apps/kv-node/dist, built by `pnpm build`); `KV_DEPLOY_ENGINE=etcd`
 * runs the same pods around a real etcd 3.4, the oracle for what the steps expect of the API.
 */

import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../tools/net/free-port.js';

const run = promisify(execFile);
const engine = process.env.KV_DEPLOY_ENGINE === 'etcd' ? 'etcd' : 'kv-node';
const kvNodeCli = fileURLToPath(new URL('../apps/kv-node/dist/cli.js', import.meta.url));
const memberStart = fileURLToPath(new URL('container/member-start.mjs', import.meta.url));
const memberLeave = fileURLToPath(new URL('container/member-leave.mjs', import.meta.url));
const b64 = (text: string): string => Buffer.from(text).toString('base64');

if (engine === 'kv-node' && !existsSync(kvNodeCli)) {
  throw new Error(`${kvNodeCli} is missing: run pnpm build first`);
}

interface Pod {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  process: ChildProcess | undefined;
  output: string;
}

const scratch = mkdtempSync(join(tmpdir(), 'kv-statefulset-'));
const pods: Pod[] = [];
const token = randomBytes(16).toString('hex');
let replicas = 3;
let kubernetesApi: Server;
let apiUrl = '';

/** The member's environment as the StatefulSet sets it, with loopback URLs. */
function podEnvironment(pod: Pod, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const bootstrap = pods
    .slice(0, 3)
    .map((member) => `${member.name}=${member.peerUrl}`)
    .join(',');
  const settings: Record<string, string> = {
    NAME: pod.name,
    DATA_DIR: pod.dataDir,
    LISTEN_CLIENT_URLS: pod.clientUrl,
    ADVERTISE_CLIENT_URLS: pod.clientUrl,
    LISTEN_PEER_URLS: pod.peerUrl,
    INITIAL_ADVERTISE_PEER_URLS: pod.peerUrl,
    INITIAL_CLUSTER: bootstrap,
    INITIAL_CLUSTER_TOKEN: 'kv-node-k8s',
    INITIAL_CLUSTER_STATE: 'new',
    HEARTBEAT_INTERVAL: '50',
    ELECTION_TIMEOUT: '500',
    LOG_LEVEL: 'warn',
    ...(engine === 'kv-node'
      ? { PEER_SECRET_FILE: join(scratch, 'peer-secret') }
      : { LOGGER: 'zap' }),
  };
  const prefix = engine === 'kv-node' ? 'KV_NODE_' : 'ETCD_';
  return {
    PATH: process.env.PATH,
    POD_NAMESPACE: 'test',
    // Stands in for the client Service: every pod's client URL.
    KV_MEMBER_ENDPOINTS: pods.map((member) => member.clientUrl).join(','),
    KV_MEMBER_DISCOVERY_SECONDS: '2',
    KV_MEMBER_KUBERNETES_API: apiUrl,
    KV_MEMBER_SERVICE_ACCOUNT_DIR: join(scratch, 'serviceaccount'),
    ...Object.fromEntries(Object.entries(settings).map(([key, value]) => [prefix + key, value])),
    ...extra,
  };
}

function memberCommand(): string[] {
  return engine === 'kv-node' ? [process.execPath, kvNodeCli] : ['etcd'];
}

/** Starts the pod's container: member-start.mjs around the member, in a process group of its own. */
function startPod(pod: Pod, extra: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [memberStart, ...memberCommand()], {
    env: podEnvironment(pod, extra),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  pod.output = '';
  child.stdout.on('data', (chunk: Buffer) => (pod.output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (pod.output += chunk.toString()));
  pod.process = child;
  return child;
}

function running(pod: Pod): boolean {
  return (
    pod.process !== undefined && pod.process.exitCode === null && pod.process.signalCode === null
  );
}

function exitOf(child: ChildProcess): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode ?? child.signalCode);
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
}

/** Stops the pod: `signal` to its process group (the step and the member), by pgid. */
async function stopPod(pod: Pod, signal: NodeJS.Signals): Promise<void> {
  const child = pod.process;
  if (child?.pid === undefined || !running(pod)) return;
  const exited = exitOf(child);
  process.kill(-child.pid, signal);
  await exited;
  // The member may outlive the step by a moment after SIGKILL; make sure the group is gone.
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function postJson(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

async function eventually<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 40_000;
  let last: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const logs = pods.map((pod) => `--- ${pod.name}\n${pod.output.slice(-2000)}`).join('\n');
      throw new Error(`${what}: not within 40 s (${String(last)})\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface Listed {
  ID: string;
  name?: string;
  clientURLs?: string[];
  isLearner?: boolean;
}

/**
 * Waits until `through` lists exactly `names` as voters that have started (published their
 * client URLs: a bootstrap member is listed before it runs); resolves with the list.
 */
function expectVoters(through: Pod, names: string[]): Promise<Listed[]> {
  return eventually(`${through.name} lists ${names.join(', ')} as voters`, async () => {
    const members = (await postJson(`${through.clientUrl}/v3/cluster/member/list`, {}))
      .members as Listed[];
    const voters = members
      .filter((member) => member.isLearner !== true && (member.clientURLs ?? []).length > 0)
      .map((member) => member.name ?? '')
      .sort();
    return members.length === names.length && JSON.stringify(voters) === JSON.stringify(names)
      ? members
      : undefined;
  });
}

const written = new Map<string, string>();

async function write(through: Pod, key: string): Promise<void> {
  await eventually(`put ${key}`, () =>
    postJson(`${through.clientUrl}/v3/kv/put`, { key: b64(key), value: b64(`v-${key}`) }),
  );
  written.set(key, `v-${key}`);
}

async function expectWritesOn(pod: Pod): Promise<void> {
  const answer = await eventually(`a read through ${pod.name}`, () =>
    postJson(`${pod.clientUrl}/v3/kv/range`, { key: b64('k/'), range_end: b64('k0') }),
  );
  const kvs = (answer.kvs as { key: string; value: string }[] | undefined) ?? [];
  expect(
    new Map(
      kvs.map((kv) => [
        Buffer.from(kv.key, 'base64').toString(),
        Buffer.from(kv.value, 'base64').toString(),
      ]),
    ),
  ).toEqual(written);
}

/** Runs the pre-stop step for `pod`; resolves with its output. */
async function preStop(pod: Pod): Promise<string> {
  const { stderr } = await run(process.execPath, [memberLeave], {
    env: podEnvironment(pod),
    timeout: 40_000,
  });
  return stderr;
}

const etcdSettle = (): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, engine === 'etcd' ? 5500 : 0));

describe(`the StatefulSet's membership steps (${engine})`, () => {
  beforeAll(async () => {
    writeFileSync(join(scratch, 'peer-secret'), `${randomBytes(32).toString('base64')}\n`, {
      mode: 0o600,
    });
    const account = join(scratch, 'serviceaccount');
    await import('node:fs/promises').then((fs) => fs.mkdir(account));
    writeFileSync(join(account, 'token'), `${token}\n`);
    kubernetesApi = createServer((request, response) => {
      const path = '/apis/apps/v1/namespaces/test/statefulsets/kv-node';
      if (request.headers.authorization !== `Bearer ${token}` || request.url !== path) {
        response.writeHead(request.url === path ? 401 : 404).end('{}');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'StatefulSet', spec: { replicas } }));
    });
    await new Promise<void>((resolve) => kubernetesApi.listen(0, '127.0.0.1', resolve));
    const address = kubernetesApi.address();
    apiUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    const ports = await freePorts(8);
    for (let ordinal = 0; ordinal < 4; ordinal++) {
      // A pod keeps its peer URL for life, a replaced member's included (a fresh member id).
      const [peerPort, clientPort] = [
        ports[2 * ordinal] as number,
        ports[2 * ordinal + 1] as number,
      ];
      pods.push({
        name: `kv-node-${ordinal}`,
        clientUrl: `http://127.0.0.1:${clientPort}`,
        peerUrl: `http://127.0.0.1:${peerPort}`,
        dataDir: join(scratch, `data-kv-node-${ordinal}`),
        process: undefined,
        output: '',
      });
    }
  });

  afterAll(async () => {
    await Promise.all(pods.map((pod) => stopPod(pod, 'SIGKILL')));
    await new Promise((resolve) => kubernetesApi?.close(resolve));
    await rm(scratch, { recursive: true, force: true });
  });

  it('bootstraps the three pods of the manifest as a new cluster', async () => {
    for (const pod of pods.slice(0, 3)) startPod(pod);
    await expectVoters(pods[0]!, ['kv-node-0', 'kv-node-1', 'kv-node-2']);
    // Each finds no cluster yet, or (started later than a majority) finds itself listed as a
    // bootstrap member that has not run: both start it with state `new`.
    for (const pod of pods.slice(0, 3)) {
      expect(pod.output).toMatch(/creating it with the bootstrap members|has not run yet/);
    }
    await write(pods[0]!, 'k/bootstrap');
    await etcdSettle();
  });

  it('scales up: a fourth pod joins as a learner and is promoted', async () => {
    replicas = 4;
    const fourth = pods[3]!;
    startPod(fourth);
    await expectVoters(pods[0]!, ['kv-node-0', 'kv-node-1', 'kv-node-2', 'kv-node-3']);
    expect(fourth.output).toContain('added kv-node-3 as learner');
    // The step logs the promotion when its answer arrives, which may be after the list shows it.
    await eventually('kv-node-3 logs its promotion', () =>
      Promise.resolve(fourth.output.includes('promoted kv-node-3') ? true : undefined),
    );
    await write(fourth, 'k/scaled-up');
    await expectWritesOn(fourth);
    await etcdSettle();
  });

  it('a pre-stop below the desired replicas is a restart: the member stays and restarts with its data', async () => {
    const second = pods[1]!;
    expect(await preStop(second)).toContain('a restart, not a scale-down');
    await stopPod(second, 'SIGTERM');
    startPod(second);
    await eventually('kv-node-1 restarted', () =>
      Promise.resolve(second.output.includes('holds state: restarting') ? true : undefined),
    );
    await write(second, 'k/restarted');
    await expectVoters(second, ['kv-node-0', 'kv-node-1', 'kv-node-2', 'kv-node-3']);
    await expectWritesOn(second);
    await etcdSettle();
  });

  it('scales down: the pre-stop removes the fourth member, which stops; its kept volume is refused', async () => {
    replicas = 3;
    const fourth = pods[3]!;
    expect(await preStop(fourth)).toContain('removed kv-node-3');
    // A removed member stops by itself (the kubelet would also send SIGTERM after the step).
    expect(await exitOf(fourth.process!)).not.toBeNull();
    await expectVoters(pods[0]!, ['kv-node-0', 'kv-node-1', 'kv-node-2']);
    // Scaled up again with the old volume kept: the step refuses to run a removed member.
    const again = startPod(fourth);
    expect(await exitOf(again)).toBe(1);
    expect(fourth.output).toContain('which the cluster no longer lists');
    await write(pods[0]!, 'k/scaled-down');
    await etcdSettle();
  });

  it('a pod whose volume was lost is refused on request, otherwise replaced by remove and add', async () => {
    const third = pods[2]!;
    const before = await expectVoters(pods[0]!, ['kv-node-0', 'kv-node-1', 'kv-node-2']);
    const oldId = before.find((member) => member.name === 'kv-node-2')?.ID;
    await stopPod(third, 'SIGKILL');
    await rm(third.dataDir, { recursive: true, force: true });
    await write(pods[0]!, 'k/while-lost');

    const refused = startPod(third, { KV_MEMBER_ON_LOST_VOLUME: 'refuse' });
    expect(await exitOf(refused)).toBe(1);
    expect(third.output).toContain('docs/guides/operations.md#replace-a-member');

    startPod(third);
    await eventually('kv-node-2 replaced and promoted', () =>
      Promise.resolve(third.output.includes('promoted kv-node-2') ? true : undefined),
    );
    const after = await expectVoters(pods[0]!, ['kv-node-0', 'kv-node-1', 'kv-node-2']);
    expect(after.find((member) => member.name === 'kv-node-2')?.ID).not.toBe(oldId);
    expect(third.output).toContain('replacing it');
    await write(third, 'k/replaced');
    await expectWritesOn(third);
  });
});
