import type { ClusterConfiguration, ConfigurationChange } from '@x/leader-follower';
import { describe, expect, it } from 'vitest';
import { decodeCommand } from '../codec/command-codec.js';
import { ApiError } from '../http/api-error.js';
import type { ApplyOutcome } from '../store/kv-state-machine.js';
import { MemberRegistry } from '../store/member-registry.js';
import type { MemberRegistryCommand } from '../store/member-registry.js';
import { MembershipService } from './membership-service.js';
import type { MembershipRequest } from './membership-service.js';

const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

/**
 * A leader of three initial members (n1, n2, n3) whose configuration changes wait until the test
 * releases them, so that a second change can be asked for while the first is in flight.
 */
function leaderOfThree() {
  const registry = new MemberRegistry();
  let configuration: ClusterConfiguration = { voters: ['n1', 'n2', 'n3'], learners: [] };
  const held: (() => void)[] = [];
  let holdChanges = false;
  const node = {
    role: 'leader',
    leaderId: 'n1',
    get configuration() {
      return configuration;
    },
    configurationIndex: 0,
    appliedThrough: 0,
    proposeConfigurationChange(change: ConfigurationChange): Promise<ClusterConfiguration> {
      const apply = (): ClusterConfiguration => {
        node.appliedThrough++;
        const voters = configuration.voters.filter((id) => id !== change.member);
        const learners = configuration.learners.filter((id) => id !== change.member);
        if (change.kind === 'add-learner') learners.push(change.member);
        if (change.kind === 'promote') voters.push(change.member);
        configuration = { voters, learners };
        return configuration;
      };
      if (!holdChanges) return Promise.resolve(apply());
      return new Promise((resolve) => held.push(() => resolve(apply())));
    },
  };
  const service = new MembershipService({
    node,
    transport: {
      peerIds: [],
      addPeer: () => undefined,
      removePeer: () => undefined,
      setPeerAddress: () => undefined,
      request: () => Promise.reject(new Error('no transport in this test')),
    },
    directory: {
      configuration: () => configuration,
      registry,
      initialMembers: ['n1', 'n2', 'n3'].map((name, index) => ({
        name,
        id: String(1000 + index),
        peerUrls: [`http://127.0.0.1:${2380 + index}`],
      })),
      self: { replicationId: 'n1', clientUrls: ['http://127.0.0.1:2379'] },
    },
    propose: (bytes): Promise<ApplyOutcome> => {
      const { command } = decodeCommand(bytes);
      if (command.type !== 'maintenance') throw new Error('a membership write only');
      registry.apply(command.request as MemberRegistryCommand);
      node.appliedThrough++;
      return Promise.resolve({ status: 'maintenance' } as unknown as ApplyOutcome);
    },
    clusterToken: 'token',
    name: 'n1',
    logger: silent,
    forwardTimeoutMs: 1000,
    removalGraceMs: 1000,
    now: () => 0,
  });
  return {
    service,
    registry,
    hold: () => {
      holdChanges = true;
    },
    releaseAll: () => {
      holdChanges = false;
      for (const release of held.splice(0)) release();
    },
    heldCount: () => held.length,
  };
}

async function refusal(promise: Promise<unknown>): Promise<[string, number, number, boolean]> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return [error.message, error.details.status, error.details.grpcCode, error.details.definite];
}

const addLearner = (port: number): MembershipRequest => ({
  kind: 'add',
  peerUrls: [`http://127.0.0.1:${port}`],
  isLearner: true,
});

describe('MembershipService on the leader', () => {
  it('refuses a second change while one is in flight, in etcd’s words, and takes the next once it is applied', async () => {
    const cluster = leaderOfThree();
    cluster.hold();
    const first = cluster.service.change(addLearner(2390));
    await new Promise((resolve) => setImmediate(resolve));
    expect(cluster.heldCount()).toBe(1);
    expect(await refusal(cluster.service.change({ kind: 'remove', id: '1002' }))).toEqual([
      'etcdserver: unhealthy cluster',
      503,
      14,
      true,
    ]);
    cluster.releaseAll();
    const added = await first;
    expect(added.member?.isLearner).toBe(true);
    // Nothing of the refused change was made.
    expect(added.members.map((member) => member.id)).toContain('1002');
    const after = await cluster.service.change({ kind: 'remove', id: '1002' });
    expect(after.members.map((member) => member.id)).not.toContain('1002');
  });

  it('allows one learner at a time, as etcd 3.4 does; a member added as a voter is not one', async () => {
    const cluster = leaderOfThree();
    await cluster.service.change(addLearner(2390));
    expect(await refusal(cluster.service.change(addLearner(2391)))).toEqual([
      'etcdserver: too many learner members in cluster',
      412,
      9,
      true,
    ]);
    // A voter: kv-node lets it learn first, but it is no learner the operator asked for.
    const voter = await cluster.service.change({
      kind: 'add',
      peerUrls: ['http://127.0.0.1:2392'],
      isLearner: false,
    });
    expect(voter.members).toHaveLength(5);
    // Once the learner is promoted, another may be added.
    const learner = cluster.service.list().find((member) => member.peerUrls[0]?.endsWith(':2390'));
    await cluster.service.change({ kind: 'promote', id: learner!.id });
    const second = await cluster.service.change(addLearner(2391));
    expect(second.member?.isLearner).toBe(true);
  });

  it('re-adds a member at the peer URLs of a removed one under a fresh id; the removed id stays refused', async () => {
    const cluster = leaderOfThree();
    const first = (await cluster.service.change(addLearner(2390))).member!;
    await cluster.service.change({ kind: 'remove', id: first.id });
    expect(cluster.service.wasRemoved(first.replicationId)).toBe(true);
    const second = (await cluster.service.change(addLearner(2390))).member!;
    expect(second.id).not.toBe(first.id);
    expect(second.replicationId).toBe(BigInt(second.id).toString(16));
    expect(second.peerUrls).toEqual(first.peerUrls);
    expect(cluster.service.wasRemoved(second.replicationId)).toBe(false);
    expect(cluster.service.wasRemoved(first.replicationId)).toBe(true);
    for (const kind of ['remove', 'promote'] as const) {
      expect(await refusal(cluster.service.change({ kind, id: first.id }))).toEqual([
        'etcdserver: member not found',
        404,
        5,
        true,
      ]);
    }
    // An initial member, removed, is retired under its name too.
    await cluster.service.change({ kind: 'remove', id: '1002' });
    expect(cluster.service.wasRemoved('n3')).toBe(true);
    expect(cluster.service.wasRemoved('n2')).toBe(false);
  });

  it('refuses to move a member to peer URLs another member has', async () => {
    const cluster = leaderOfThree();
    expect(
      await refusal(
        cluster.service.change({ kind: 'update', id: '1001', peerUrls: ['http://127.0.0.1:2382'] }),
      ),
    ).toEqual(['etcdserver: Peer URLs already exists', 412, 9, true]);
    // Its own URLs, or free ones, are fine.
    await cluster.service.change({
      kind: 'update',
      id: '1001',
      peerUrls: ['http://127.0.0.1:2381'],
    });
    const moved = await cluster.service.change({
      kind: 'update',
      id: '1001',
      peerUrls: ['http://127.0.0.1:2399'],
    });
    expect(moved.members.find((member) => member.id === '1001')?.peerUrls).toEqual([
      'http://127.0.0.1:2399',
    ]);
  });
});
