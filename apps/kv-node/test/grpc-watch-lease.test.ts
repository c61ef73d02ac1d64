/**
 * Watch, Lease, Compact and Alarm over gRPC, driven by etcd's own clients against a 3-member
 * kv-node cluster: `etcdctl` 3.4 (skipped with a message when it is not installed) watching while
 * another process writes, from a past revision, after a compaction; its lease commands; the npm
 * `etcd3` client's watch, lease, lock and election. Also etcd's codes for lease and compaction
 * errors, a gRPC watcher that stops reading (writes go on; once it reads, every revision arrives
 * in order with no gap or duplicate), and the NOSPACE alarm (last: it stops writes that add
 * data).
 */

import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Metadata, credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import type { ClientDuplexStream, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
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

/** Small enough that the NOSPACE test fills it with a few puts, big enough for the rest. */
const QUOTA_BYTES = 16 * 1024 * 1024;

let started: StartedCluster | undefined;
let cluster: ProcessCluster;
const children = new Set<ChildProcess>();

/** `host:port` of a member's client URL (etcdctl's endpoint form). */
function endpoint(member: ProcessMember): string {
  return new URL(member.clientUrl).host;
}

function etcdctlArgs(members: ProcessMember[], args: string[]): string[] {
  return [
    `--endpoints=${members.map(endpoint).join(',')}`,
    '--dial-timeout=5s',
    '--command-timeout=10s',
    ...args,
  ];
}

const etcdctlEnv = { ...process.env, ETCDCTL_API: '3' };

/** Runs etcdctl 3 against `members`; resolves with stdout. */
async function etcdctl(members: ProcessMember[], args: string[]): Promise<string> {
  return (await run('etcdctl', etcdctlArgs(members, args), { env: etcdctlEnv })).stdout;
}

/** A long-running etcdctl (a watch): its output so far, and a way to wait for some of it. */
interface Running {
  output(): string;
  /** Resolves once the output matches `pattern`; rejects if the process exits first. */
  until(pattern: RegExp): Promise<string>;
  /** Resolves with the exit code and the output once it exits. */
  exited: Promise<{ code: number | null; output: string }>;
  /** Stops it (by pid) and waits for it to exit. */
  stop(): Promise<void>;
}

function startEtcdctl(members: ProcessMember[], args: string[]): Running {
  const child = spawn('etcdctl', etcdctlArgs(members, args), {
    env: etcdctlEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const waiters: (() => void)[] = [];
  const changed = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const waiter of waiters.splice(0)) waiter();
  };
  child.stdout.on('data', changed);
  child.stderr.on('data', changed);
  const exited = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve({ code, output });
      for (const waiter of waiters.splice(0)) waiter();
    }),
  );
  return {
    output: () => output,
    until: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(output)) resolve(output);
          else if (child.exitCode !== null || child.signalCode !== null) {
            reject(new Error(`etcdctl exited before ${String(pattern)}: ${output}`));
          } else waiters.push(check);
        };
        check();
      }),
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(child.pid, 'SIGTERM');
      }
      await exited;
    },
  };
}

type Unary = (
  request: unknown,
  metadata: Metadata,
  callback: (error: ServiceError | null, response?: Record<string, unknown>) => void,
) => void;

type Duplex = (metadata: Metadata) => ClientDuplexStream<unknown, Record<string, unknown>>;

/** A grpc-js client of one etcd service (messages in the gateway's shapes, as the server's). */
function serviceClient(member: ProcessMember, service: ServiceDefinition, name: string) {
  const Client = makeGenericClientConstructor(service, name);
  const client = new Client(endpoint(member), credentials.createInsecure());
  const methods = client as unknown as Record<string, Unary & Duplex>;
  return {
    call: (method: string, request: unknown): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        (methods[method] as Unary).call(client, request, new Metadata(), (error, response) =>
          error === null ? resolve(response ?? {}) : reject(error),
        );
      }),
    stream: (method: string): ClientDuplexStream<unknown, Record<string, unknown>> =>
      (methods[method] as Duplex).call(client, new Metadata()),
    close: () => client.close(),
  };
}

/** Takes a stream's messages one at a time, in order. */
function messagesOf(stream: ClientDuplexStream<unknown, Record<string, unknown>>) {
  const buffered: Record<string, unknown>[] = [];
  const waiters: ((message: Record<string, unknown>) => void)[] = [];
  let failure: Error | undefined;
  const failed: ((error: Error) => void)[] = [];
  stream.on('data', (message: Record<string, unknown>) => {
    const waiter = waiters.shift();
    if (waiter === undefined) buffered.push(message);
    else waiter(message);
  });
  stream.on('error', (error: Error) => {
    failure = error;
    for (const reject of failed.splice(0)) reject(error);
  });
  return (): Promise<Record<string, unknown>> => {
    const message = buffered.shift();
    if (message !== undefined) return Promise.resolve(message);
    if (failure !== undefined) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      waiters.push(resolve);
      failed.push(reject);
    });
  };
}

const revisionOf = (response: Record<string, unknown>): number =>
  Number((response.header as { revision: string }).revision);

beforeAll(async () => {
  started = await startedCluster(3, {
    extraArgs: ['--quota-backend-bytes', String(QUOTA_BYTES)],
  });
  cluster = started.cluster;
}, 120_000);

afterAll(async () => {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }
  await started?.stop();
});

describe.skipIf(!etcdctlPresent)(
  'etcdctl 3.4: watch, lease, compaction, alarm',
  { timeout: 60_000 },
  () => {
    it('watches a prefix through one member while another process puts through another', async () => {
      const [first, second] = cluster.members as [ProcessMember, ProcessMember];
      const watch = startEtcdctl([first], ['watch', '--prefix', 'w/', '--prev-kv']);
      try {
        // The watch is created once etcdctl runs; a marker put repeated until seen tells when.
        for (let attempt = 0; !watch.output().includes('w/ready'); attempt++) {
          expect(attempt).toBeLessThan(100);
          await etcdctl([second], ['put', 'w/ready', String(attempt)]);
          await Promise.race([
            watch.until(/w\/ready/),
            new Promise((resolve) => setTimeout(resolve, 200)),
          ]);
        }
        await etcdctl([second], ['put', 'w/a', 'one']);
        await etcdctl([second], ['put', 'w/a', 'two']);
        await etcdctl([second], ['del', 'w/a']);
        await etcdctl([second], ['put', 'elsewhere', 'not watched']);
        await etcdctl([second], ['put', 'w/z', 'last']);
        const output = await watch.until(/PUT\nw\/z\nlast\n/);
        const after = output.slice(output.lastIndexOf('w/ready'));
        expect(after.slice(after.indexOf('\n') + 1).replace(/^\d+\n/, '')).toBe(
          'PUT\nw/a\none\n' +
            'PUT\nw/a\none\nw/a\ntwo\n' +
            'DELETE\nw/a\ntwo\nw/a\n\n' +
            'PUT\nw/z\nlast\n',
        );
      } finally {
        await watch.stop();
      }
    });

    it('watches from a past revision (--rev), in revision order', async () => {
      const [first, , third] = cluster.members as [ProcessMember, ProcessMember, ProcessMember];
      const put = JSON.parse(await etcdctl([first], ['put', 'h/1', 'a', '-w', 'json'])) as {
        header: { revision: number };
      };
      await etcdctl([first], ['put', 'h/2', 'b']);
      await etcdctl([first], ['put', 'h/1', 'c']);
      const watch = startEtcdctl(
        [third],
        ['watch', '--prefix', 'h/', `--rev=${put.header.revision}`],
      );
      try {
        expect(await watch.until(/PUT\nh\/1\nc\n/)).toBe('PUT\nh/1\na\nPUT\nh/2\nb\nPUT\nh/1\nc\n');
      } finally {
        await watch.stop();
      }
    });

    it('grants a lease, puts with it, keeps it alive, shows its keys, lists and revokes it', async () => {
      const [first, second, third] = cluster.members as [
        ProcessMember,
        ProcessMember,
        ProcessMember,
      ];
      const granted = await etcdctl([first], ['lease', 'grant', '60']);
      const match = /^lease ([0-9a-f]+) granted with TTL\(60s\)\n$/.exec(granted);
      expect(match, granted).not.toBeNull();
      const id = (match as RegExpExecArray)[1] as string;
      expect(await etcdctl([second], ['put', '--lease', id, 'leased/a', 'x'])).toBe('OK\n');
      expect(await etcdctl([third], ['put', `--lease=${id}`, 'leased/b', 'y'])).toBe('OK\n');
      expect(await etcdctl([second], ['lease', 'keep-alive', '--once', id])).toBe(
        `lease ${id} keepalived with TTL(60)\n`,
      );
      expect(await etcdctl([third], ['lease', 'timetolive', id, '--keys'])).toMatch(
        new RegExp(
          `^lease ${id} granted with TTL\\(60s\\), remaining\\((59|60)s\\), attached keys\\(\\[leased/a leased/b\\]\\)\\n$`,
        ),
      );
      const listed = await etcdctl([first], ['lease', 'list']);
      expect(listed.startsWith('found ')).toBe(true);
      expect(listed.split('\n')).toContain(id);
      // The key carries its lease (read over gRPC: etcdctl's JSON loses an int64's low digits).
      const kv = serviceClient(first, etcdServices().kv, 'KV');
      try {
        const read = (await kv.call('Range', { key: b64('leased/a') })) as {
          kvs: { lease: string }[];
        };
        expect(read.kvs[0]?.lease).toBe(BigInt(`0x${id}`).toString());
      } finally {
        kv.close();
      }
      expect(await etcdctl([third], ['lease', 'revoke', id])).toBe(`lease ${id} revoked\n`);
      expect(await etcdctl([first], ['get', 'leased/', '--prefix'])).toBe('');
      expect(await etcdctl([second], ['lease', 'timetolive', id])).toBe(
        `lease ${id} already expired\n`,
      );
      await expect(etcdctl([second], ['lease', 'revoke', id])).rejects.toThrow(
        /etcdserver: requested lease not found/,
      );
      // The keep-alive stream answers an unknown lease with TTL 0, which etcd's client reports so.
      await expect(etcdctl([first], ['lease', 'keep-alive', '--once', id])).rejects.toThrow(
        /etcdserver: requested lease not found/,
      );
    });

    it('compacts; reads and watches below the compaction are refused in etcd words', async () => {
      const [first, second] = cluster.members as [ProcessMember, ProcessMember];
      const old = JSON.parse(await etcdctl([first], ['put', 'c/1', 'old', '-w', 'json'])) as {
        header: { revision: number };
      };
      const now = JSON.parse(await etcdctl([first], ['put', 'c/1', 'new', '-w', 'json'])) as {
        header: { revision: number };
      };
      expect(await etcdctl([second], ['compaction', String(now.header.revision)])).toBe(
        `compacted revision ${now.header.revision}\n`,
      );
      await expect(
        etcdctl([second], ['get', 'c/1', `--rev=${old.header.revision}`]),
      ).rejects.toThrow(/etcdserver: mvcc: required revision has been compacted/);
      await expect(etcdctl([first], ['compaction', String(old.header.revision)])).rejects.toThrow(
        /etcdserver: mvcc: required revision has been compacted/,
      );
      const watch = startEtcdctl([second], ['watch', 'c/1', `--rev=${old.header.revision}`]);
      const { code, output } = await watch.exited;
      expect(code).not.toBe(0);
      expect(output).toMatch(
        /watch was canceled \(etcdserver: mvcc: required revision has been compacted\)/,
      );
      expect(await etcdctl([first], ['get', 'c/1', '--print-value-only'])).toBe('new\n');
    });

    it('lists no alarms while none is raised', async () => {
      const [first] = cluster.members as [ProcessMember];
      expect(await etcdctl([first], ['alarm', 'list'])).toBe('');
    });
  },
);

describe('the npm etcd3 client: watch, lease, lock', { timeout: 60_000 }, () => {
  let client: Etcd3;

  beforeAll(() => {
    client = new Etcd3({ hosts: cluster.members.map((member) => member.clientUrl) });
  });

  afterAll(() => {
    client?.close();
  });

  it('watches a key: puts and deletes, in order, with the previous value', async () => {
    const watcher = await client.watch().key('npmw/k').withPreviousKV().create();
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      watcher.on('put', (kv, previous) => {
        seen.push(`put ${kv.value.toString()} after ${previous?.value.toString() ?? '-'}`);
      });
      watcher.on('delete', (kv, previous) => {
        seen.push(`delete ${kv.key.toString()} was ${previous?.value.toString() ?? '-'}`);
        resolve();
      });
    });
    await client.put('npmw/k').value('1');
    await client.put('npmw/other').value('x');
    await client.put('npmw/k').value('2');
    await client.delete().key('npmw/k');
    await done;
    await watcher.cancel();
    expect(seen).toEqual(['put 1 after -', 'put 2 after 1', 'delete npmw/k was 2']);
  });

  it('grants a lease, puts with it, keeps it alive and revokes it (its key goes)', async () => {
    const lease = client.lease(30, { autoKeepAlive: false });
    await lease.put('npml/k').value('held');
    const id = await lease.grant();
    expect(await client.get('npml/k').string()).toBe('held');
    const kept = await lease.keepaliveOnce();
    expect(kept.ID).toBe(id);
    expect(kept.TTL).toBe('30');
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
    expect(ttl.grantedTTL).toBe('30');
    expect(ttl.keys.map((key) => key.toString())).toEqual(['npml/k']);
    await lease.revoke();
    expect(await client.get('npml/k').string()).toBeNull();
  });

  it('locks: a second contender is refused while the first holds the lock, then gets it', async () => {
    const held = await client.lock('npm-lock').ttl(10).acquire();
    const other = new Etcd3({ hosts: cluster.members.map((member) => member.clientUrl) });
    try {
      await expect(other.lock('npm-lock').ttl(10).acquire()).rejects.toThrow(/Failed to acquire/);
      await held.release();
      const mine = await other.lock('npm-lock').ttl(10).acquire();
      await mine.release();
    } finally {
      other.close();
    }
  });

  it('elects one leader at a time; the next candidate takes over when the first resigns', async () => {
    const other = new Etcd3({ hosts: cluster.members.map((member) => member.clientUrl) });
    try {
      const election = client.election('npm-election', 10);
      const first = election.campaign('alpha');
      await first.wait();
      expect(await election.leader()).toBe('alpha');
      // The second candidate (its lease granted) does not displace the first: it is elected only
      // once the first's key goes, which it learns from a watch.
      const second = other.election('npm-election', 10).campaign('beta');
      // `wait()` listens for a future 'elected' event only, and the second can be elected before
      // the first's revoke answers: listen from the start.
      let secondElected = false;
      const elected = second.wait().then(() => {
        secondElected = true;
      });
      await second.getCampaignKey();
      expect(await election.leader()).toBe('alpha');
      expect(secondElected).toBe(false);
      await first.resign();
      await elected;
      expect(await election.leader()).toBe('beta');
      await second.resign();
      expect(await election.leader()).toBeUndefined();
    } finally {
      other.close();
    }
  });
});

describe("etcd's gRPC codes for leases and compaction", { timeout: 60_000 }, () => {
  it('refuses a missing, a duplicate and a too long lease with etcd codes and messages', async () => {
    const [first] = cluster.members as [ProcessMember];
    const lease = serviceClient(first, etcdServices().lease, 'Lease');
    try {
      await expect(lease.call('LeaseRevoke', { ID: '123456789' })).rejects.toMatchObject({
        code: status.NOT_FOUND,
        details: 'etcdserver: requested lease not found',
      });
      const granted = await lease.call('LeaseGrant', { ID: '77', TTL: '60' });
      expect(granted).toMatchObject({ ID: '77', TTL: '60' });
      await expect(lease.call('LeaseGrant', { ID: '77', TTL: '10' })).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: 'etcdserver: lease already exists',
      });
      await expect(lease.call('LeaseGrant', { TTL: '9000000001' })).rejects.toMatchObject({
        code: status.OUT_OF_RANGE,
        details: 'etcdserver: too large lease TTL',
      });
      expect(await lease.call('LeaseTimeToLive', { ID: '404' })).toMatchObject({ TTL: '-1' });
      await lease.call('LeaseRevoke', { ID: '77' });
    } finally {
      lease.close();
    }
  });

  it('answers each keep-alive on one stream in order; an unknown lease gets TTL 0', async () => {
    const [, second] = cluster.members as [ProcessMember, ProcessMember];
    const lease = serviceClient(second, etcdServices().lease, 'Lease');
    try {
      const granted = await lease.call('LeaseGrant', { TTL: '20' });
      const stream = lease.stream('LeaseKeepAlive');
      const next = messagesOf(stream);
      const ids = [granted.ID, '987654321', granted.ID];
      for (const id of ids) stream.write({ ID: id });
      const answers = [await next(), await next(), await next()];
      expect(answers.map((answer) => [answer.ID, answer.TTL])).toEqual([
        [granted.ID, '20'],
        ['987654321', undefined],
        [granted.ID, '20'],
      ]);
      stream.end();
      await lease.call('LeaseRevoke', { ID: granted.ID });
    } finally {
      lease.close();
    }
  });

  it('answers Compact of a compacted revision with OUT_OF_RANGE', async () => {
    const [first] = cluster.members as [ProcessMember];
    const kv = serviceClient(first, etcdServices().kv, 'KV');
    try {
      const put = await kv.call('Put', { key: b64('cmp'), value: b64('v') });
      expect(revisionOf(await kv.call('Compact', { revision: String(revisionOf(put)) }))).toBe(
        revisionOf(put),
      );
      await expect(kv.call('Compact', { revision: '1' })).rejects.toMatchObject({
        code: status.OUT_OF_RANGE,
        details: 'etcdserver: mvcc: required revision has been compacted',
      });
      await expect(kv.call('Compact', { revision: '999999999' })).rejects.toMatchObject({
        code: status.OUT_OF_RANGE,
        details: 'etcdserver: mvcc: required revision is a future revision',
      });
    } finally {
      kv.close();
    }
  });
});

describe('the gRPC Watch stream', { timeout: 120_000 }, () => {
  it('creates with an id, cancels, answers a progress request and refuses an empty range', async () => {
    const [first] = cluster.members as [ProcessMember];
    const watch = serviceClient(first, etcdServices().watch, 'Watch');
    try {
      const stream = watch.stream('Watch');
      const next = messagesOf(stream);
      stream.write({ create_request: { key: b64('pw/'), range_end: b64('pw0'), watch_id: '7' } });
      const created = await next();
      expect(created).toMatchObject({ watch_id: '7', created: true });
      stream.write({ create_request: { key: b64('b'), range_end: b64('a') } });
      expect(await next()).toMatchObject({
        watch_id: '-1',
        created: true,
        canceled: true,
        cancel_reason: 'mvcc: watcher range is empty',
      });
      stream.write({ create_request: { key: b64('pw/x'), watch_id: '7' } });
      expect(await next()).toMatchObject({ watch_id: '-1', canceled: true });
      stream.write({ progress_request: {} });
      const progress = await next();
      expect(progress.watch_id).toBe('-1');
      expect(revisionOf(progress)).toBeGreaterThanOrEqual(revisionOf(created));
      stream.write({ cancel_request: { watch_id: '7' } });
      expect(await next()).toMatchObject({ watch_id: '7', canceled: true });
      stream.cancel();
    } finally {
      watch.close();
    }
  });

  it('splits a large revision into fragments when asked', async () => {
    const [first, second] = cluster.members as [ProcessMember, ProcessMember];
    const watch = serviceClient(first, etcdServices().watch, 'Watch');
    const kv = serviceClient(second, etcdServices().kv, 'KV');
    try {
      const stream = watch.stream('Watch');
      const next = messagesOf(stream);
      stream.write({
        create_request: { key: b64('fr/'), range_end: b64('fr0'), fragment: true, prev_kv: true },
      });
      expect(await next()).toMatchObject({ created: true });
      const value = Buffer.alloc(300 * 1024, 'f').toString('base64');
      for (let index = 0; index < 8; index++) {
        await kv.call('Put', { key: b64(`fr/${index}`), value });
        const put = await next();
        expect(put.fragment).toBeUndefined();
      }
      // One revision deleting 8 keys of 300 KiB, sent with their previous values: 2.4 MB, past
      // the 1.5 MiB request limit that fragments are cut at.
      await kv.call('DeleteRange', { key: b64('fr/'), range_end: b64('fr0') });
      const keys: string[] = [];
      let fragments = 0;
      for (;;) {
        const message = await next();
        fragments++;
        for (const event of message.events as { type: string; prev_kv: { key: string } }[]) {
          expect(event.type).toBe('DELETE');
          keys.push(fromB64(event.prev_kv.key));
        }
        if (message.fragment !== true) break;
      }
      expect(fragments).toBeGreaterThan(1);
      expect(keys).toEqual(Array.from({ length: 8 }, (_, index) => `fr/${index}`));
      stream.cancel();
    } finally {
      watch.close();
      kv.close();
    }
  });

  it('a watcher that stops reading does not stop writes, then gets every revision in order', async () => {
    const [first, second] = cluster.members as [ProcessMember, ProcessMember];
    const watch = serviceClient(first, etcdServices().watch, 'Watch');
    const kv = serviceClient(second, etcdServices().kv, 'KV');
    try {
      const stream = watch.stream('Watch');
      const next = messagesOf(stream);
      stream.write({ create_request: { key: b64('slow/'), range_end: b64('slow0') } });
      expect(await next()).toMatchObject({ created: true });
      stream.pause();
      // Not read while 1200 puts of 8 KiB (9.6 MB) go through: far more than the HTTP/2
      // window, grpc-js's buffer and the watcher's queue hold.
      const value = Buffer.alloc(8192, 's').toString('base64');
      const revisions: number[] = [];
      for (let round = 0; round < 1200; round += 20) {
        const puts = await Promise.all(
          Array.from({ length: 20 }, (_, index) =>
            kv.call('Put', { key: b64(`slow/${(round + index) % 7}`), value }),
          ),
        );
        revisions.push(...puts.map(revisionOf));
      }
      stream.resume();
      revisions.sort((left, right) => left - right);
      const seen: number[] = [];
      while (seen.length < revisions.length) {
        const message = await next();
        for (const event of message.events as { kv: { mod_revision: string } }[]) {
          seen.push(Number(event.kv.mod_revision));
        }
      }
      expect(seen).toEqual(revisions);
      stream.cancel();
      // The space goes back, for the NOSPACE test to measure its own puts.
      await kv.call('DeleteRange', { key: b64('slow/'), range_end: b64('slow0') });
      const latest = await kv.call('Range', { key: b64('slow/') });
      await kv.call('Compact', { revision: String(revisionOf(latest)) });
    } finally {
      watch.close();
      kv.close();
    }
  });
});

// Last: it fills the quota and leaves the cluster refusing writes that add data.
describe('the NOSPACE alarm over gRPC', { timeout: 60_000 }, () => {
  it('refuses puts past the quota with RESOURCE_EXHAUSTED and lists the alarm', async () => {
    const [first, second] = cluster.members as [ProcessMember, ProcessMember];
    const kv = serviceClient(first, etcdServices().kv, 'KV');
    const maintenance = serviceClient(second, etcdServices().maintenance, 'Maintenance');
    try {
      const value = Buffer.alloc(1024 * 1024, 'q').toString('base64');
      let refused: ServiceError | undefined;
      for (let index = 0; index < 40 && refused === undefined; index++) {
        await kv.call('Put', { key: b64(`quota/${index}`), value }).catch((error: unknown) => {
          refused = error as ServiceError;
        });
      }
      expect(refused).toMatchObject({
        code: status.RESOURCE_EXHAUSTED,
        details: 'etcdserver: mvcc: database space exceeded',
      });
      const alarms = await maintenance.call('Alarm', { action: 'GET' });
      expect(alarms.alarms).toEqual([
        { memberID: expect.any(String) as unknown, alarm: 'NOSPACE' },
      ]);
      if (etcdctlPresent) {
        expect(await etcdctl([first], ['alarm', 'list'])).toMatch(
          /^memberID:\d+ alarm:NOSPACE ?\n$/,
        );
        await expect(etcdctl([first], ['put', 'quota/more', 'x'])).rejects.toThrow(
          /etcdserver: mvcc: database space exceeded/,
        );
      }
    } finally {
      kv.close();
      maintenance.close();
    }
  });
});
