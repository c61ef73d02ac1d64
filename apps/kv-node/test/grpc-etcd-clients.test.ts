/**
 * etcd's own clients against a 3-member kv-node cluster, unchanged: `etcdctl` 3.4 (Debian's
 * `etcd-client`; skipped with a message when it is not installed) and the npm `etcd3` client, over
 * gRPC on the same client port as the HTTP API. Also bad input on that port: an oversized
 * message, and an HTTP/2 connection that sends garbage while HTTP/1.1 clients keep being served.
 */

import { execFile, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { Metadata, credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdServices } from '../src/grpc/etcd-proto.js';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import { etcdctlPresent } from './support/etcd-binaries.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';

const run = promisify(execFile);
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const fromB64 = (text: string): string => Buffer.from(text, 'base64').toString();

let started: StartedCluster | undefined;
let cluster: ProcessCluster;

/** `host:port` of a member's client URL (etcdctl's endpoint form). */
function endpoint(member: ProcessMember): string {
  return new URL(member.clientUrl).host;
}

/** Runs etcdctl 3 against `members` (`host:port` endpoints); resolves with stdout. */
async function etcdctl(members: ProcessMember[], args: string[], input?: string): Promise<string> {
  return etcdctlAt(members.map(endpoint), args, input);
}

/** Runs etcdctl 3 against `endpoints` as given; resolves with stdout. */
async function etcdctlAt(endpoints: string[], args: string[], input?: string): Promise<string> {
  const allArgs = [
    `--endpoints=${endpoints.join(',')}`,
    '--dial-timeout=5s',
    '--command-timeout=10s',
    ...args,
  ];
  const env = { ...process.env, ETCDCTL_API: '3' };
  if (input === undefined) return (await run('etcdctl', allArgs, { env })).stdout;
  return new Promise((resolve, reject) => {
    const child = spawn('etcdctl', allArgs, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`etcdctl exited ${code}: ${stderr}`)),
    );
    child.stdin.end(input);
  });
}

type Unary = (
  request: unknown,
  metadata: Metadata,
  callback: (error: ServiceError | null, response?: Record<string, unknown>) => void,
) => void;

/** A grpc-js client of etcd's KV service (messages in the gateway's shapes, as the server's). */
function kvClient(member: ProcessMember): {
  call(method: string, request: unknown): Promise<Record<string, unknown>>;
  close(): void;
} {
  const Client = makeGenericClientConstructor(etcdServices().kv, 'KV');
  const client = new Client(endpoint(member), credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
  });
  return {
    call: (method, request) =>
      new Promise((resolve, reject) => {
        const unary = (client as unknown as Record<string, Unary>)[method] as Unary;
        unary.call(client, request, new Metadata(), (error, response) =>
          error === null ? resolve(response ?? {}) : reject(error),
        );
      }),
    close: () => client.close(),
  };
}

beforeAll(async () => {
  started = await startedCluster(3, {
    extraArgs: ['--max-request-bytes', '65536', '--max-value-bytes', '32768'],
  });
  cluster = started.cluster;
}, 120_000);

afterAll(async () => {
  await started?.stop();
});

describe.skipIf(!etcdctlPresent)(
  'etcdctl 3.4 against a 3-member cluster',
  { timeout: 60_000 },
  () => {
    it('puts through one member and reads through the others, with prefix and limit', async () => {
      const [first, second, third] = cluster.members as [
        ProcessMember,
        ProcessMember,
        ProcessMember,
      ];
      expect(await etcdctl([first], ['put', 'ctl/a', 'alpha'])).toBe('OK\n');
      expect(await etcdctl([second], ['put', 'ctl/b', 'beta'])).toBe('OK\n');
      expect(await etcdctl([third], ['put', 'ctl/c', 'gamma'])).toBe('OK\n');
      expect(await etcdctl([third], ['get', 'ctl/a'])).toBe('ctl/a\nalpha\n');
      expect(await etcdctl([first], ['get', 'ctl/', '--prefix'])).toBe(
        'ctl/a\nalpha\nctl/b\nbeta\nctl/c\ngamma\n',
      );
      const limited = JSON.parse(
        await etcdctl([second], ['get', 'ctl/', '--prefix', '--limit=2', '-w', 'json']),
      ) as { kvs: { key: string; value: string }[]; more: boolean; count: number };
      expect(limited.kvs.map((kv) => fromB64(kv.key))).toEqual(['ctl/a', 'ctl/b']);
      expect(limited.more).toBe(true);
      expect(limited.count).toBe(3);
      expect(await etcdctl([first], ['get', 'ctl/', '--prefix', '--keys-only'])).toBe(
        'ctl/a\n\nctl/b\n\nctl/c\n\n',
      );
    });

    // Outputs as etcdctl 3.4 prints them against etcd 3.4 for the same puts.
    it('reads as of a past revision (--rev) and sorts (--sort-by, --order)', async () => {
      const [first, second, third] = cluster.members as [
        ProcessMember,
        ProcessMember,
        ProcessMember,
      ];
      await etcdctl([first], ['put', 'sort/b', '2']);
      const early = JSON.parse(await etcdctl([first], ['put', 'sort/a', '1', '-w', 'json'])) as {
        header: { revision: number };
      };
      await etcdctl([second], ['put', 'sort/c', '3']);
      await etcdctl([second], ['put', 'sort/a', '10']);
      const revision = `--rev=${early.header.revision}`;
      expect(await etcdctl([third], ['get', 'sort/a', revision])).toBe('sort/a\n1\n');
      expect(await etcdctl([third], ['get', 'sort/', '--prefix', revision])).toBe(
        'sort/a\n1\nsort/b\n2\n',
      );
      expect(await etcdctl([third], ['get', 'sort/a'])).toBe('sort/a\n10\n');
      expect(
        await etcdctl([first], ['get', 'sort/', '--prefix', '--sort-by=KEY', '--order=DESCEND']),
      ).toBe('sort/c\n3\nsort/b\n2\nsort/a\n10\n');
      expect(
        await etcdctl([second], ['get', 'sort/', '--prefix', '--sort-by=MODIFY', '--order=ASCEND']),
      ).toBe('sort/b\n2\nsort/c\n3\nsort/a\n10\n');
    });

    it('deletes a key and a prefix, reporting how many', async () => {
      const [first, second] = cluster.members as [ProcessMember, ProcessMember];
      await etcdctl([first], ['put', 'del/1', 'x']);
      await etcdctl([first], ['put', 'del/2', 'y']);
      await etcdctl([first], ['put', 'del/3', 'z']);
      expect(await etcdctl([second], ['del', 'del/1'])).toBe('1\n');
      expect(await etcdctl([second], ['del', 'del/', '--prefix', '--prev-kv'])).toBe(
        '2\ndel/2\ny\ndel/3\nz\n',
      );
      expect(await etcdctl([first], ['get', 'del/', '--prefix'])).toBe('');
    });

    it('runs a transaction from stdin, both branches, and interactively', async () => {
      const [first, second, third] = cluster.members as [
        ProcessMember,
        ProcessMember,
        ProcessMember,
      ];
      await etcdctl([first], ['put', 'txn/flag', 'on']);
      const succeeded = await etcdctl(
        [second],
        ['txn'],
        'value("txn/flag") = "on"\n\nput txn/result yes\n\nput txn/result no\n\n',
      );
      expect(succeeded).toBe('SUCCESS\n\nOK\n');
      expect(await etcdctl([first], ['get', 'txn/result', '--print-value-only'])).toBe('yes\n');
      const failed = await etcdctl(
        [first],
        ['txn'],
        'value("txn/flag") = "off"\n\nput txn/result yes\n\nget txn/flag\n\n',
      );
      expect(failed).toBe('FAILURE\n\ntxn/flag\non\n');
      // --interactive prompts for each part (etcd 3.4's etcdctl prints the prompts on stdout).
      const interactive = await etcdctl(
        [third],
        ['txn', '--interactive'],
        'value("txn/flag") = "on"\n\nput txn/result again\n\nput txn/result no\n\n',
      );
      expect(interactive).toBe(
        'compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\n' +
          'SUCCESS\n\nOK\n',
      );
      expect(await etcdctl([first], ['get', 'txn/result', '--print-value-only'])).toBe('again\n');
    });

    it('reports every member healthy (endpoint health)', async () => {
      const health = JSON.parse(
        await etcdctl(cluster.members, ['endpoint', 'health', '-w', 'json']),
      ) as { endpoint: string; health: boolean; took: string; error?: string }[];
      expect(health.map((entry) => entry.endpoint).sort()).toEqual(
        cluster.members.map(endpoint).sort(),
      );
      for (const entry of health) {
        expect(entry.health, entry.endpoint).toBe(true);
        expect(entry.error).toBeUndefined();
        expect(entry.took).toMatch(/^[\d.]+(µs|ms|s)$/);
      }
    });

    it('lists the members and their endpoint status', async () => {
      const list = JSON.parse(await etcdctl(cluster.members, ['member', 'list', '-w', 'json'])) as {
        header: { cluster_id: number };
        members: { ID: number; name: string; peerURLs: string[]; clientURLs?: string[] }[];
      };
      expect(list.members.map((member) => member.name).sort()).toEqual(['m1', 'm2', 'm3']);
      for (const member of list.members) {
        expect(member.peerURLs).toHaveLength(1);
      }
      const statuses = JSON.parse(
        await etcdctl(cluster.members, ['endpoint', 'status', '-w', 'json']),
      ) as {
        Endpoint: string;
        Status: {
          header: { cluster_id: number; member_id: number; raft_term: number };
          leader: number;
          raftIndex: number;
        };
      }[];
      expect(statuses.map((entry) => entry.Endpoint).sort()).toEqual(
        cluster.members.map(endpoint).sort(),
      );
      const leaders = new Set(statuses.map((entry) => entry.Status.leader));
      expect(leaders.size).toBe(1);
      const memberIds = statuses.map((entry) => entry.Status.header.member_id);
      expect(memberIds).toContain([...leaders][0]);
      expect(new Set(memberIds).size).toBe(3);
      for (const entry of statuses) {
        expect(entry.Status.header.cluster_id).toBe(list.header.cluster_id);
        expect(entry.Status.raftIndex).toBeGreaterThan(0);
      }
    });

    // etcdctl 3.4 sends an `http://` endpoint whole as the HTTP/2 `:authority`, which Node's
    // HTTP/2 server refuses by itself (src/grpc/lenient-authority.ts).
    it('serves endpoints written as http:// URLs: endpoint status, put and get', async () => {
      const urls = cluster.members.map((member) => member.clientUrl);
      const statuses = JSON.parse(await etcdctlAt(urls, ['endpoint', 'status', '-w', 'json'])) as {
        Endpoint: string;
        Status: { header: { member_id: number }; leader: number };
      }[];
      expect(statuses.map((entry) => entry.Endpoint).sort()).toEqual([...urls].sort());
      expect(new Set(statuses.map((entry) => entry.Status.header.member_id)).size).toBe(3);
      expect(new Set(statuses.map((entry) => entry.Status.leader)).size).toBe(1);
      const [first, second] = urls as [string, string];
      expect(await etcdctlAt([first], ['put', 'url/a', 'by-url'])).toBe('OK\n');
      expect(await etcdctlAt([second], ['get', 'url/a'])).toBe('url/a\nby-url\n');
      expect(await etcdctlAt(urls, ['get', 'url/', '--prefix', '--keys-only'])).toBe('url/a\n\n');
    });
  },
);

describe('the npm etcd3 client against a 3-member cluster', { timeout: 60_000 }, () => {
  let client: Etcd3;

  beforeAll(() => {
    client = new Etcd3({ hosts: cluster.members.map((member) => member.clientUrl) });
  });

  afterAll(() => {
    client?.close();
  });

  it('puts, gets, deletes and runs a guarded transaction', async () => {
    await client.put('npm/a').value('1');
    await client.put('npm/b').value('2');
    expect(await client.get('npm/a').string()).toBe('1');
    expect(await client.getAll().prefix('npm/').strings()).toEqual({ 'npm/a': '1', 'npm/b': '2' });
    const applied = await client
      .if('npm/a', 'Value', '==', '1')
      .then(client.put('npm/a').value('one'))
      .else(client.put('npm/a').value('none'))
      .commit();
    expect(applied.succeeded).toBe(true);
    expect(await client.get('npm/a').string()).toBe('one');
    const refused = await client
      .if('npm/a', 'Value', '==', '1')
      .then(client.put('npm/a').value('again'))
      .commit();
    expect(refused.succeeded).toBe(false);
    expect(await client.get('npm/a').string()).toBe('one');
    const deleted = await client.delete().prefix('npm/');
    expect(deleted.deleted).toBe('2');
    expect(await client.get('npm/a').string()).toBeNull();
  });
});

describe('etcd status codes and headers over gRPC', { timeout: 60_000 }, () => {
  it('answers with the response header of the member that served', async () => {
    const [first] = cluster.members as [ProcessMember];
    const kv = kvClient(first);
    try {
      const put = (await kv.call('Put', { key: b64('hdr'), value: b64('v') })) as {
        header: { cluster_id: string; member_id: string; revision: string; raft_term: string };
      };
      const status = (await (
        await fetch(`${first.clientUrl}/v3/maintenance/status`, {
          method: 'POST',
          body: '{}',
        })
      ).json()) as { header: { cluster_id: string; member_id: string } };
      expect(put.header.cluster_id).toBe(status.header.cluster_id);
      expect(put.header.member_id).toBe(status.header.member_id);
      expect(Number(put.header.revision)).toBeGreaterThan(0);
      expect(Number(put.header.raft_term)).toBeGreaterThan(0);
    } finally {
      kv.close();
    }
  });

  it("refuses bad requests with etcd's codes and messages", async () => {
    const [first] = cluster.members as [ProcessMember];
    const kv = kvClient(first);
    try {
      await expect(kv.call('Range', {})).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: 'etcdserver: key is not provided',
      });
      const ops = Array.from({ length: 129 }, (_, index) => ({
        request_put: { key: b64(`many/${index}`), value: b64('v') },
      }));
      await expect(kv.call('Txn', { success: ops })).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: 'etcdserver: too many operations in txn request',
      });
    } finally {
      kv.close();
    }
  });

  it('refuses a message over --max-request-bytes with RESOURCE_EXHAUSTED', async () => {
    const [first] = cluster.members as [ProcessMember];
    const kv = kvClient(first);
    try {
      const big = Buffer.alloc(70_000, 'x').toString('base64');
      await expect(kv.call('Put', { key: b64('big'), value: big })).rejects.toMatchObject({
        code: status.RESOURCE_EXHAUSTED,
      });
      // The member keeps serving on the same connection.
      await kv.call('Put', { key: b64('after-big'), value: b64('ok') });
    } finally {
      kv.close();
    }
  });

  it('closes an HTTP/2 connection that sends garbage; HTTP/1.1 clients go on', async () => {
    const [first] = cluster.members as [ProcessMember];
    const url = new URL(first.clientUrl);
    const garbage = connect(Number(url.port), url.hostname);
    const closed = new Promise<void>((resolve) => garbage.on('close', () => resolve()));
    garbage.on('error', () => undefined);
    // Read (and drop) what the server answers, so that its closing is seen.
    garbage.resume();
    garbage.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    garbage.write(Buffer.alloc(4096, 0xab));
    const read = await fetch(`${first.clientUrl}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: b64('after-big') }),
    });
    expect(read.status).toBe(200);
    await closed;
    const again = (await (
      await fetch(`${first.clientUrl}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({ key: b64('after-big') }),
      })
    ).json()) as { kvs: { value: string }[] };
    expect(fromB64(again.kvs[0]?.value ?? '')).toBe('ok');
  });
});

// Last: it turns auth on for the rest of the cluster's life.
describe('auth over gRPC: Authenticate and the token metadata', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    const [first] = cluster.members as [ProcessMember];
    const post = async (path: string, body: unknown): Promise<void> => {
      const response = await fetch(`${first.clientUrl}${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      expect({ path, status: response.status, body: await response.text() }).toMatchObject({
        status: 200,
      });
    };
    await post('/v3/auth/user/add', { name: 'root', password: 'root-pw' });
    await post('/v3/auth/user/grant', { user: 'root', role: 'root' });
    await post('/v3/auth/role/add', { name: 'app' });
    await post('/v3/auth/role/grant', {
      name: 'app',
      perm: { permType: 'READWRITE', key: b64('app/'), range_end: b64('app0') },
    });
    await post('/v3/auth/user/add', { name: 'alice', password: 'alice-pw' });
    await post('/v3/auth/user/grant', { user: 'alice', role: 'app' });
    await post('/v3/auth/enable', {});
  });

  it('the etcd3 client logs in and is held to its permissions', async () => {
    const anonymous = new Etcd3({ hosts: cluster.members.map((member) => member.clientUrl) });
    const alice = new Etcd3({
      hosts: cluster.members.map((member) => member.clientUrl),
      auth: { username: 'alice', password: 'alice-pw' },
    });
    try {
      await expect(anonymous.put('app/1').value('x')).rejects.toThrow(/user name is empty/);
      await alice.put('app/1').value('mine');
      expect(await alice.get('app/1').string()).toBe('mine');
      await expect(alice.put('elsewhere').value('x')).rejects.toThrow(/permission denied/);
    } finally {
      anonymous.close();
      alice.close();
    }
  });

  it.skipIf(!etcdctlPresent)(
    'etcdctl --user logs in; without it only status is served',
    async () => {
      const [first, second] = cluster.members as [ProcessMember, ProcessMember];
      expect(await etcdctl([first], ['--user', 'alice:alice-pw', 'put', 'app/2', 'two'])).toBe(
        'OK\n',
      );
      expect(await etcdctl([second], ['--user', 'alice:alice-pw', 'get', 'app/2'])).toBe(
        'app/2\ntwo\n',
      );
      await expect(etcdctl([first], ['get', 'app/2'])).rejects.toThrow(/user name is empty/);
      await expect(etcdctl([first], ['--user', 'alice:wrong', 'get', 'app/2'])).rejects.toThrow(
        /authentication failed, invalid user ID or password/,
      );
      await expect(
        etcdctl([first], ['--user', 'alice:alice-pw', 'put', 'secret', 'x']),
      ).rejects.toThrow(/permission denied/);
      // etcd serves the member list and status without a user.
      expect(await etcdctl([first], ['member', 'list'])).toMatch(/m1/);
      expect(await etcdctl([first], ['endpoint', 'status'])).toMatch(
        new RegExp(`^${endpoint(first)}, [0-9a-f]+, `),
      );
    },
  );
});

// After everything else: it stops two of the three members.
describe('without a quorum', { timeout: 60_000 }, () => {
  it("answers UNAVAILABLE with etcd's message, and keeps serving status", async () => {
    const [first, second, third] = cluster.members as [ProcessMember, ProcessMember, ProcessMember];
    await cluster.kill(second);
    await cluster.kill(third);
    const kv = kvClient(first);
    try {
      await expect(kv.call('Range', { key: b64('app/1') })).rejects.toMatchObject({
        code: status.UNAVAILABLE,
        details: expect.stringMatching(/^etcdserver: (no leader|request timed out)/) as unknown,
      });
    } finally {
      kv.close();
    }
    if (etcdctlPresent) {
      expect(await etcdctl([first], ['endpoint', 'status'])).toMatch(
        new RegExp(`^${endpoint(first)}, [0-9a-f]+, `),
      );
      // etcdctl prints the failed check, then exits 1 with "unhealthy cluster" (as against etcd).
      const unhealthy = (await etcdctl([first], ['endpoint', 'health', '-w', 'json']).then(
        (stdout) => ({ stdout, message: 'exited 0' }),
        (error: Error & { stdout?: string }) => ({ stdout: error.stdout, message: error.message }),
      )) as { stdout?: string; message: string };
      expect(unhealthy.message).toMatch(/Error: unhealthy cluster/);
      const [entry] = JSON.parse(unhealthy.stdout ?? '[]') as {
        endpoint: string;
        health: boolean;
        error?: string;
      }[];
      expect(entry?.endpoint).toBe(endpoint(first));
      expect(entry?.health).toBe(false);
      expect(entry?.error).toMatch(/etcdserver: (no leader|request timed out)|deadline exceeded/);
    }
  });
});
