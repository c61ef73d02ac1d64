/**
 * Issue 23, finding 7, against real processes: a DNS-rebinding web page sends requests whose
 * Host and Origin both name the attacker. A member's client port answers 403 and changes nothing
 * (its default allowlist is loopback plus its own URLs' hosts; `--host-whitelist` replaces it,
 * `*` allows any, as in etcd), and the `kv-node cluster` dashboard refuses its pages and demo
 * actions alike (the page once killed node-3 that way). Requests naming an allowed host work.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeBasePort } from '../../../tools/net/free-port.js';
import { killPids, pidsWithArgument } from './e2e/process-tools.js';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import { sharedCliPath } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

let started: StartedCluster | undefined;
let cluster: ProcessCluster;
let member: ProcessMember;
let launcher: ChildProcess | undefined;
let launcherData: string | undefined;
const launcherOutput: string[] = [];

interface RawAnswer {
  status: number;
  body: string;
}

/** A request to 127.0.0.1:`port` with the Host (and Origin) a rebinding page would send. */
function rawRequest(
  port: number,
  options: { method: string; path: string; host: string; origin?: string; body?: string },
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method,
        path: options.path,
        setHost: false,
        headers: {
          host: options.host,
          ...(options.origin === undefined ? {} : { origin: options.origin }),
          ...(options.body === undefined
            ? {}
            : {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(options.body),
              }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

const portOf = (url: string): number => Number(new URL(url).port);

async function valueOf(key: string): Promise<string | undefined> {
  const response = await fetch(`${member.clientUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64(key) }),
  });
  const body = (await response.json()) as { kvs?: { value: string }[] };
  const value = body.kvs?.[0]?.value;
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
}

async function restartMember(extraArgs: string[]): Promise<void> {
  await cluster.kill(member);
  cluster.start(member, extraArgs);
  await cluster.waitReady([member]);
}

async function launcherShows(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(launcherOutput.join(''));
    if (match !== null) return match;
    if (Date.now() > deadline)
      throw new Error(`no ${String(pattern)} in:\n${launcherOutput.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  const cliPath = sharedCliPath();
  launcherData = await mkdtemp(`${tmpdir()}/kv-dns-rebinding-`);
  const basePort = await freeBasePort(1);
  launcher = spawn(
    process.execPath,
    [
      cliPath,
      'cluster',
      '--nodes',
      '1',
      '--base-port',
      String(basePort),
      '--data-dir',
      launcherData,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  launcher.stdout?.on('data', (chunk: Buffer) => launcherOutput.push(chunk.toString()));
  launcher.stderr?.on('data', (chunk: Buffer) => launcherOutput.push(chunk.toString()));
  // The member starts while the launcher does.
  started = await startedCluster(1);
  cluster = started.cluster;
  member = started.first;
}, 120_000);

afterAll(async () => {
  if (launcher?.pid !== undefined && launcher.exitCode === null && launcher.signalCode === null) {
    const exited = new Promise((resolve) => launcher?.once('exit', resolve));
    process.kill(launcher.pid, 'SIGKILL');
    await exited;
  }
  // The launcher's members are its children: found by their data directory, killed by pid.
  if (launcherData !== undefined) {
    killPids(await pidsWithArgument(launcherData));
    await rm(launcherData, { recursive: true, force: true });
  }
  await started?.stop();
});

describe('DNS rebinding is refused (issue 23, finding 7)', () => {
  it("a member answers 403 to the attacker's Host and Origin and changes nothing", async () => {
    const port = portOf(member.clientUrl);
    const attack = await rawRequest(port, {
      method: 'POST',
      path: '/v3/kv/put',
      host: `evil.example:${port}`,
      origin: `http://evil.example:${port}`,
      body: JSON.stringify({ key: b64('rebound'), value: b64('pwned') }),
    });
    expect(attack.status).toBe(403);
    expect(JSON.parse(attack.body)).toMatchObject({ reason: 'host_not_allowed' });
    const page = await rawRequest(port, { method: 'GET', path: '/ui/', host: 'evil.example' });
    expect(page.status).toBe(403);
    const read = await rawRequest(port, {
      method: 'GET',
      path: '/v1/kv/rebound',
      host: 'evil.example',
    });
    expect(read.status).toBe(403);
    expect(await valueOf('rebound')).toBeUndefined();

    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      const normal = await rawRequest(port, {
        method: 'POST',
        path: '/v3/kv/put',
        host,
        body: JSON.stringify({ key: b64('normal'), value: b64(host) }),
      });
      expect(normal.status, host).toBe(200);
      expect(await valueOf('normal')).toBe(host);
    }
  });

  it("--host-whitelist replaces the default, and '*' allows any host as in etcd", async () => {
    const port = portOf(member.clientUrl);
    await restartMember(['--host-whitelist', 'kv.example,127.0.0.1']);
    const put = (host: string): Promise<RawAnswer> =>
      rawRequest(port, {
        method: 'POST',
        path: '/v3/kv/put',
        host,
        body: JSON.stringify({ key: b64('listed'), value: b64(host) }),
      });
    expect((await put(`kv.example:${port}`)).status).toBe(200);
    expect((await put(`evil.example:${port}`)).status).toBe(403);
    expect((await put(`localhost:${port}`)).status).toBe(403);
    expect(await valueOf('listed')).toBe(`kv.example:${port}`);
    await restartMember(['--host-whitelist', '*']);
    expect((await put(`evil.example:${port}`)).status).toBe(200);
  }, 60_000);

  it("the `kv-node cluster` dashboard refuses pages and demo actions for the attacker's Host", async () => {
    const [, dashboardUrl] = await launcherShows(/Dashboard: (http:\/\/\S+\/ui\/)/);
    const [, clientUrl] = await launcherShows(/^ {2}node-1 +(http:\/\/\S+)/m);
    const port = portOf(dashboardUrl as string);
    const kill = await rawRequest(port, {
      method: 'POST',
      path: '/ui/api/demo/kill',
      host: `evil.example:${port}`,
      origin: `http://evil.example:${port}`,
      body: JSON.stringify({ node: 'node-1' }),
    });
    expect(kill.status).toBe(403);
    for (const path of ['/ui/', '/ui/api/view', '/ui/events', '/']) {
      const page = await rawRequest(port, { method: 'GET', path, host: `evil.example:${port}` });
      expect(page.status, path).toBe(403);
    }
    // node-1 still runs: the kill was never carried out.
    const ready = await fetch(`${clientUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(launcherOutput.join('')).not.toContain('node-1 exited');
    const view = await rawRequest(port, {
      method: 'GET',
      path: '/ui/api/view',
      host: `127.0.0.1:${port}`,
    });
    expect(view.status).toBe(200);
    const local = await rawRequest(port, {
      method: 'GET',
      path: '/ui/api/view',
      host: `localhost:${port}`,
    });
    expect(local.status).toBe(200);
  }, 90_000);
});
