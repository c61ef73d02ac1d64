import { ConfigurationChangeRefusedError } from '@x/leader-follower';
import type { ClusterConfiguration, ConfigurationChange } from '@x/leader-follower';
import { describe, expect, it } from 'vitest';
import { BinaryReader } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
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

/** The replicated state a test cluster's members share: the configuration and the registry. */
interface SharedState {
  configuration: ClusterConfiguration;
  registry: MemberRegistry;
  /** Learners that have caught up: the only ones the core lets be promoted. */
  inSync: Set<string>;
  /** Which member leads (only it answers as the leader). */
  leader: string;
}

/**
 * The membership service of member `self` over shared replicated state: its configuration
 * changes wait until the test releases them when held, so that a second change can be asked
 * for while the first is in flight; a promotion of a learner not in sync is refused as the core
 * refuses it.
 */
function memberOf(self: string, state: SharedState) {
  const held: (() => void)[] = [];
  let holdChanges = false;
  const node = {
    get role() {
      return state.leader === self ? 'leader' : 'follower';
    },
    get leaderId() {
      return state.leader;
    },
    get configuration() {
      return state.configuration;
    },
    configurationIndex: 0,
    appliedThrough: 0,
    proposeConfigurationChange(change: ConfigurationChange): Promise<ClusterConfiguration> {
      if (change.kind === 'promote' && !state.inSync.has(change.member)) {
        return Promise.reject(
          new ConfigurationChangeRefusedError('learner-not-caught-up', 'not caught up'),
        );
      }
      const apply = (): ClusterConfiguration => {
        node.appliedThrough++;
        const current = state.configuration;
        const voters = current.voters.filter((id) => id !== change.member);
        const learners = current.learners.filter((id) => id !== change.member);
        if (change.kind === 'add-learner') learners.push(change.member);
        if (change.kind === 'promote') voters.push(change.member);
        state.configuration = { voters, learners };
        return state.configuration;
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
      configuration: () => state.configuration,
      registry: state.registry,
      initialMembers: ['n1', 'n2', 'n3'].map((name, index) => ({
        name,
        id: String(1000 + index),
        peerUrls: [`http://127.0.0.1:${2380 + index}`],
      })),
      self: { replicationId: self, clientUrls: ['http://127.0.0.1:2379'] },
    },
    propose: (bytes): Promise<ApplyOutcome> => {
      const { command } = decodeCommand(bytes);
      if (command.type !== 'maintenance') throw new Error('a membership write only');
      state.registry.apply(command.request as MemberRegistryCommand);
      node.appliedThrough++;
      return Promise.resolve({ status: 'maintenance' } as unknown as ApplyOutcome);
    },
    clusterToken: 'token',
    name: self,
    logger: silent,
    forwardTimeoutMs: 1000,
    removalGraceMs: 1000,
    now: () => 0,
  });
  return {
    service,
    registry: state.registry,
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

function stateOfThree(): SharedState {
  return {
    configuration: { voters: ['n1', 'n2', 'n3'], learners: [] },
    registry: new MemberRegistry(),
    inSync: new Set(),
    leader: 'n1',
  };
}

/** The leader (n1) of three initial members (n1, n2, n3). */
function leaderOfThree() {
  const state = stateOfThree();
  return { ...memberOf('n1', state), state };
}

/** Lets the promises the upkeep started settle (they resolve without I/O here). */
async function settled(): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
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
    cluster.state.inSync.add(learner!.replicationId);
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

const addVoter = (port: number): MembershipRequest => ({
  kind: 'add',
  peerUrls: [`http://127.0.0.1:${port}`],
  isLearner: false,
});

describe('a member added as a voter', () => {
  it('is listed as a voter while it learns, and whichever member leads once it is in sync promotes it and settles the request', async () => {
    const state = stateOfThree();
    const [n1, n2, n3] = (['n1', 'n2', 'n3'] as const).map((name) => memberOf(name, state));
    const added = (await n1!.service.change(addVoter(2390))).member!;
    const id = added.replicationId;
    // As etcd lists it (a voter), on every member; in the configuration, a learner for now.
    expect(added.isLearner).toBe(false);
    for (const member of [n1!, n2!, n3!]) {
      expect(member.service.list().find((listed) => listed.id === added.id)?.isLearner).toBe(false);
      expect(member.service.listInForce().find((listed) => listed.id === added.id)?.isLearner).toBe(
        true,
      );
    }
    expect(state.configuration.learners).toEqual([id]);
    expect(state.registry.voterRequests()).toEqual([id]);

    // The leader that took the request loses its leadership before the member is in sync.
    state.leader = 'n2';
    n2!.service.reconcile();
    await settled();
    expect(state.configuration.learners).toEqual([id]);
    state.inSync.add(id);
    // A follower promotes nothing, though it knows the request too.
    n1!.service.reconcile();
    await settled();
    expect(state.configuration.learners).toEqual([id]);
    // The new leader knows the request from the replicated registry.
    n2!.service.reconcile();
    await settled();
    expect(state.configuration).toEqual({ voters: ['n1', 'n2', 'n3', id], learners: [] });
    expect(n3!.service.listInForce().find((listed) => listed.id === added.id)?.isLearner).toBe(
      false,
    );

    // Leadership moves again before n2 settled the request: n3 settles it.
    state.leader = 'n3';
    expect(state.registry.voterRequests()).toEqual([id]);
    n3!.service.reconcile();
    await settled();
    expect(state.registry.voterRequests()).toEqual([]);
    expect(state.configuration.voters).toContain(id);
  });

  it('is promoted after a restart of the whole cluster: the request is in the registry’s snapshot', async () => {
    const before = stateOfThree();
    const added = (await memberOf('n1', before).service.change(addVoter(2390))).member!;
    const writer = new BinaryWriter(64);
    before.registry.encode(writer);
    // Every member restarts from its snapshot; n3 leads.
    const after: SharedState = {
      configuration: before.configuration,
      registry: MemberRegistry.decode(new BinaryReader(writer.finishExact())),
      inSync: new Set([added.replicationId]),
      leader: 'n3',
    };
    const n3 = memberOf('n3', after);
    expect(n3.service.list().find((listed) => listed.id === added.id)?.isLearner).toBe(false);
    n3.service.reconcile();
    await settled();
    expect(after.configuration.voters).toContain(added.replicationId);
    n3.service.reconcile();
    await settled();
    expect(after.registry.voterRequests()).toEqual([]);
  });

  it('is refused promotion as a voter is, does not count as a learner, and loses its request when removed', async () => {
    const cluster = leaderOfThree();
    const added = (await cluster.service.change(addVoter(2390))).member!;
    expect(await refusal(cluster.service.change({ kind: 'promote', id: added.id }))).toEqual([
      'etcdserver: can only promote a learner member',
      412,
      9,
      true,
    ]);
    // etcd's one-learner limit counts the learners etcd would show: none yet.
    const learner = (await cluster.service.change(addLearner(2391))).member!;
    expect(learner.isLearner).toBe(true);
    // Removed before it was ever in sync: the request is settled, the learner's untouched.
    await cluster.service.change({ kind: 'remove', id: added.id });
    cluster.service.reconcile();
    await settled();
    expect(cluster.registry.voterRequests()).toEqual([]);
    expect(cluster.state.configuration.learners).toEqual([learner.replicationId]);
  });
});
