/**
 * A member joins a cluster whose peers authenticate with TLS certificates alone (no
 * `--peer-secret-file`): it learns the cluster id and its member id from a member over the peer
 * port, presenting its certificate of the cluster CA; a joiner with a certificate of another CA
 * learns nothing and refuses to start, saying why. Real processes on loopback; the TLS material
 * is `@x/transport-tcp`'s test fixtures.
 */

import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessMember } from './support/process-cluster.js';
import { ProcessCluster, sharedCliPath } from './support/process-cluster.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../../packages/transport-tcp/test-fixtures/${name}`, import.meta.url));

let cluster: ProcessCluster;
let first: ProcessMember;
let joiner: ProcessMember;

const peerUrl = (member: ProcessMember): string => `https://127.0.0.1:${member.peerPort}`;

/** The member's flags with https peer URLs and TLS files in place of the peer secret. */
function tlsArgs(
  member: ProcessMember,
  initialCluster: string,
  state: 'new' | 'existing',
  identity: { cert: string; key: string },
): string[] {
  const args = [...member.args];
  const secret = args.indexOf('--peer-secret-file');
  args.splice(secret, 2);
  args[args.indexOf('--listen-peer-urls') + 1] = peerUrl(member);
  args[args.indexOf('--initial-cluster') + 1] = initialCluster;
  return [
    ...args,
    '--initial-cluster-state',
    state,
    '--peer-cert-file',
    fixture(identity.cert),
    '--peer-key-file',
    fixture(identity.key),
    '--peer-trusted-ca-file',
    fixture('ca-cert.pem'),
  ];
}

function exitOf(member: ProcessMember): Promise<number | null> {
  const child = member.process!;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function post(member: ProcessMember, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  expect(response.status, `${path} on ${member.name}`).toBe(200);
  return response.json();
}

const node = { cert: 'node-cert.pem', key: 'node-key.pem' };
const rogue = { cert: 'rogue-cert.pem', key: 'rogue-key.pem' };

describe('joining a cluster authenticated by peer TLS alone', () => {
  beforeAll(async () => {
    cluster = await ProcessCluster.create(sharedCliPath(), 2);
    [first, joiner] = cluster.members as [ProcessMember, ProcessMember];
    cluster.start(first, [], {
      args: tlsArgs(first, `${first.name}=${peerUrl(first)}`, 'new', node),
    });
    await cluster.waitReady([first]);
  }, 60_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('learns the cluster from a member with a certificate of the cluster CA, and not without', async () => {
    await post(first, '/v3/cluster/member/add', { peerURLs: [peerUrl(joiner)], isLearner: true });
    const initialCluster = `${first.name}=${peerUrl(first)},${joiner.name}=${peerUrl(joiner)}`;
    // Another CA's certificate: the member's TLS refuses it, so nothing is learned.
    cluster.start(joiner, [], { args: tlsArgs(joiner, initialCluster, 'existing', rogue) });
    expect(await exitOf(joiner)).toBe(1);
    expect(joiner.output.join('')).toContain(
      'could not learn the cluster to join from any member of --initial-cluster',
    );
    cluster.start(joiner, [], { args: tlsArgs(joiner, initialCluster, 'existing', node) });
    await cluster.waitReady([joiner]);
    const key = Buffer.from('joined').toString('base64');
    await post(first, '/v3/kv/put', { key, value: Buffer.from('yes').toString('base64') });
    // The learner catches up: its own (serializable) read sees the write.
    for (let attempt = 0; ; attempt++) {
      const read = (await post(joiner, '/v3/kv/range', { key, serializable: true })) as {
        kvs?: unknown[];
      };
      if (read.kvs?.length === 1) break;
      if (attempt > 100) throw new Error(`the joiner never caught up:\n${joiner.output.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    type Listed = {
      header: { cluster_id: string };
      members: { name?: string; isLearner?: boolean }[];
    };
    // It publishes its name once it runs, as an etcd member does.
    let listed: Listed;
    for (let attempt = 0; ; attempt++) {
      listed = (await post(joiner, '/v3/cluster/member/list', {})) as Listed;
      if (listed.members.some((member) => member.name === joiner.name)) break;
      if (attempt > 100) throw new Error(`never published:\n${joiner.output.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(listed.members.find((member) => member.name === joiner.name)?.isLearner).toBe(true);
    const own = (await post(first, '/v3/cluster/member/list', {})) as Listed;
    expect(listed.header.cluster_id).toBe(own.header.cluster_id);
  }, 60_000);
});
