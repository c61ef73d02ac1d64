import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClusterStatus } from '../src/http/kv-backend.js';
import type { NodeView } from '../src/dashboard/cluster-view.js';
import { ClusterObserver } from '../src/dashboard/cluster-observer.js';
import {
  HttpClusterStatusSource,
  parseQuorumReport,
  parseClusterReport,
} from '../src/dashboard/http-status-source.js';
import { LeaderTimeline, currentLeader } from '../src/dashboard/leader-timeline.js';
import { nodeViewsFromStatus } from '../src/dashboard/node-status-source.js';
import { quorumNodeViewsFromStatus } from '../src/dashboard/quorum-status-source.js';
import { ThroughputMeter } from '../src/dashboard/throughput-meter.js';

function node(name: string, fields: Partial<NodeView> = {}): NodeView {
  return {
    name,
    role: 'follower',
    generation: 1,
    lastIndex: 10,
    highWaterMark: 10,
    snapshotIndex: null,
    appliedIndex: 10,
    lagBehindLeader: 0,
    heartbeatAgeMs: 50,
    suspectedByLeader: false,
    clientUrl: null,
    ...fields,
  };
}

describe('currentLeader', () => {
  it('prefers the leader in the highest generation over a stale one that woke up', () => {
    const nodes = [
      node('node-1', { role: 'leader', generation: 2 }),
      node('node-2', { role: 'leader', generation: 3 }),
      node('node-3'),
    ];
    expect(currentLeader(nodes)?.name).toBe('node-2');
  });

  it('finds none when no node leads', () => {
    expect(currentLeader([node('node-1'), node('node-2', { role: 'unreachable' })])).toBe(
      undefined,
    );
  });
});

describe('LeaderTimeline', () => {
  it('records only changes, with the highest generation seen', () => {
    const timeline = new LeaderTimeline();
    timeline.observe(1000, [node('a', { role: 'leader', generation: 1 }), node('b')]);
    timeline.observe(1500, [node('a', { role: 'leader', generation: 1 }), node('b')]);
    timeline.observe(2000, [node('a', { role: 'unreachable', generation: null }), node('b')]);
    timeline.observe(2600, [
      node('a', { role: 'unreachable', generation: null }),
      node('b', { role: 'leader', generation: 2 }),
    ]);
    expect(timeline.changes()).toEqual([
      { atMs: 1000, leader: 'a', generation: 1 },
      { atMs: 2000, leader: null, generation: 1 },
      { atMs: 2600, leader: 'b', generation: 2 },
    ]);
  });

  it('keeps at most its limit, dropping the oldest', () => {
    const timeline = new LeaderTimeline(3);
    for (let index = 0; index < 10; index++) {
      timeline.observe(index, [node(`n${index}`, { role: 'leader' })]);
    }
    expect(timeline.changes().map((change) => change.leader)).toEqual(['n7', 'n8', 'n9']);
  });
});

describe('ThroughputMeter', () => {
  it('reports the growth of the high-water mark per second over the window', () => {
    const meter = new ThroughputMeter(2000);
    expect(meter.record(0, 100)).toBe(0);
    expect(meter.record(1000, 150)).toBe(50);
    expect(meter.record(2000, 350)).toBe(125);
    // The sample at 0 has left the window: (550 - 150) over 2 s.
    expect(meter.record(3000, 550)).toBe(200);
  });

  it('starts over when the index goes down instead of reporting a negative rate', () => {
    const meter = new ThroughputMeter();
    meter.record(0, 100);
    expect(meter.record(500, 20)).toBe(0);
    expect(meter.record(1500, 30)).toBe(10);
  });

  it('never reports a negative or non-finite rate (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            stepMs: fc.integer({ min: 0, max: 5000 }),
            index: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: null }),
          }),
          { maxLength: 40 },
        ),
        (samples) => {
          const meter = new ThroughputMeter(3000);
          let now = 0;
          for (const sample of samples) {
            now += sample.stepMs;
            const rate = meter.record(now, sample.index);
            if (!(rate >= 0) || !Number.isFinite(rate)) return false;
          }
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('nodeViewsFromStatus', () => {
  const status: ClusterStatus = {
    clusterId: '1',
    memberId: '11',
    name: 'node-1',
    role: 'leader',
    generation: 4,
    leaderId: '11',
    lastLogIndex: 42,
    highWaterMark: 41,
    appliedIndex: 40,
    snapshotIndex: 30,
    lowWaterMark: 25,
    members: [
      {
        id: '11',
        name: 'node-1',
        peerUrls: [],
        clientUrls: ['http://127.0.0.1:2379'],
        role: 'leader',
        matchIndex: 42,
        lag: 0,
        lastContactAgoMs: 0,
      },
      {
        id: '12',
        name: 'node-2',
        peerUrls: [],
        clientUrls: [],
        role: 'follower',
        matchIndex: 40,
        lag: 2,
        lastContactAgoMs: 120,
        suspected: true,
      },
    ],
  };

  it('shows the local node in full and only what it knows of the others', () => {
    const [self, other] = nodeViewsFromStatus(status);
    expect(self).toEqual({
      name: 'node-1',
      role: 'leader',
      generation: 4,
      lastIndex: 42,
      highWaterMark: 41,
      snapshotIndex: 30,
      appliedIndex: 40,
      lagBehindLeader: 0,
      heartbeatAgeMs: 0,
      suspectedByLeader: null,
      clientUrl: 'http://127.0.0.1:2379',
    });
    expect(other).toEqual({
      name: 'node-2',
      role: 'follower',
      generation: null,
      lastIndex: null,
      highWaterMark: null,
      snapshotIndex: null,
      appliedIndex: null,
      lagBehindLeader: 2,
      heartbeatAgeMs: 120,
      suspectedByLeader: true,
      clientUrl: null,
    });
  });

  it('marks a member the node lists as a learner', () => {
    const withLearner: ClusterStatus = {
      ...status,
      members: [
        ...status.members,
        {
          id: '13',
          name: 'node-3',
          peerUrls: [],
          clientUrls: [],
          role: 'follower',
          isLearner: true,
        },
      ],
    };
    const views = nodeViewsFromStatus(withLearner);
    expect(views.map((view) => view.learner === true)).toEqual([false, false, true]);
  });
});

function clusterBody(name: string, role: string, generation: number, lastIndex: number) {
  return {
    name,
    role,
    generation,
    last_log_index: lastIndex,
    commit_index: lastIndex - 1,
    applied_index: lastIndex - 1,
    snapshot_index: lastIndex - 10,
    members: [
      { name: 'a', lag: 0, last_contact_ago_ms: 0, suspected: null },
      { name: 'b', lag: 3, last_contact_ago_ms: 90, suspected: false },
      { name: 'c', lag: null, last_contact_ago_ms: 1500, suspected: true },
    ],
  };
}

describe('HttpClusterStatusSource', () => {
  it('combines each member’s own report with the current leader’s view of lag and heartbeats', async () => {
    const bodies = new Map<string, unknown>([
      ['http://a', clusterBody('a', 'leader', 5, 20)],
      ['http://b', clusterBody('b', 'follower', 5, 17)],
    ]);
    const fakeFetch: typeof fetch = (input) => {
      const url = input instanceof Request ? input.url : input.toString();
      const base = url.replace('/v1/cluster', '');
      const body = bodies.get(base);
      return body === undefined
        ? Promise.reject(new Error('ECONNREFUSED'))
        : Promise.resolve(Response.json(body));
    };
    const source = new HttpClusterStatusSource({
      members: [
        { name: 'a', clientUrl: 'http://a' },
        { name: 'b', clientUrl: 'http://b' },
        { name: 'c', clientUrl: 'http://c' },
      ],
      fetch: fakeFetch,
    });
    const [a, b, c] = await source.sample();
    expect(a).toMatchObject({
      role: 'leader',
      generation: 5,
      lastIndex: 20,
      snapshotIndex: 10,
      lagBehindLeader: 0,
    });
    expect(b).toMatchObject({
      role: 'follower',
      lastIndex: 17,
      highWaterMark: 16,
      snapshotIndex: 7,
      appliedIndex: 16,
      lagBehindLeader: 3,
      heartbeatAgeMs: 90,
      suspectedByLeader: false,
    });
    expect(c).toMatchObject({
      role: 'unreachable',
      generation: null,
      snapshotIndex: null,
      heartbeatAgeMs: 1500,
      suspectedByLeader: true,
    });
  });

  it('marks a learner as the leader lists it, and only a learner', async () => {
    const leaderBody = clusterBody('a', 'leader', 5, 20);
    leaderBody.members.push({
      name: 'd',
      lag: 1,
      last_contact_ago_ms: 50,
      suspected: false,
      is_learner: true,
    } as (typeof leaderBody.members)[number]);
    const fakeFetch: typeof fetch = (input) => {
      const url = input instanceof Request ? input.url : input.toString();
      return url.startsWith('http://a')
        ? Promise.resolve(Response.json(leaderBody))
        : Promise.reject(new Error('ECONNREFUSED'));
    };
    const source = new HttpClusterStatusSource({
      members: [
        { name: 'a', clientUrl: 'http://a' },
        { name: 'd', clientUrl: 'http://d' },
      ],
      fetch: fakeFetch,
    });
    const [a, d] = await source.sample();
    expect(a?.learner).toBeUndefined();
    expect(d).toMatchObject({ name: 'd', learner: true });
  });

  it('shows an unknown snapshot index for a node that does not report one', () => {
    const { snapshot_index: _omitted, ...older } = clusterBody('a', 'follower', 1, 2);
    expect(parseClusterReport(older)?.snapshotIndex).toBe(null);
    expect(parseClusterReport(clusterBody('a', 'follower', 1, 12))?.snapshotIndex).toBe(2);
  });

  it('shows the members of a leaderless (quorum-mode) cluster with their replicas and their peers’ suspicion', async () => {
    const quorumBody = (name: string, suspects: readonly string[]) => ({
      name,
      replication: 'quorum',
      read_quorum: 2,
      write_quorum: 2,
      keys: 12,
      tombstones: 3,
      repair_backlog: name === 'a' ? 4 : 0,
      state_hash: '9f2c41aa07de5b1c0000',
      members: ['a', 'b', 'c'].map((member) => ({
        name: member,
        self: member === name,
        agreed: true,
        suspected: suspects.includes(member),
      })),
    });
    const bodies = new Map<string, unknown>([
      ['http://a', quorumBody('a', ['c'])],
      ['http://b', quorumBody('b', [])],
    ]);
    const source = new HttpClusterStatusSource({
      members: ['a', 'b', 'c'].map((name) => ({ name, clientUrl: `http://${name}` })),
      fetch: (input) => {
        const url = input instanceof Request ? input.url : input.toString();
        const body = bodies.get(url.replace('/v1/cluster', ''));
        return body === undefined
          ? Promise.reject(new Error('ECONNREFUSED'))
          : Promise.resolve(Response.json(body));
      },
    });
    const [a, b, c] = await source.sample();
    expect(a).toMatchObject({
      role: 'quorum',
      generation: null,
      lastIndex: null,
      lagBehindLeader: null,
      quorum: { keys: 12, tombstones: 3, stateHash: '9f2c41aa07de', repairBacklog: 4 },
      suspectedByPeers: false,
    });
    expect(b?.suspectedByPeers).toBe(false);
    expect(b?.quorum?.repairBacklog).toBe(0);
    // Down: unreachable, no replica to show, and suspected by a peer that answered.
    expect(c).toMatchObject({ role: 'unreachable', clientUrl: 'http://c', suspectedByPeers: true });
    expect(c?.quorum).toBeUndefined();
    expect(parseQuorumReport(clusterBody('a', 'leader', 1, 2))).toBeUndefined();
  });

  it('shows a quorum-mode member’s own view: its replica in full, its peers as its detector sees them', () => {
    const rows = quorumNodeViewsFromStatus({
      name: 'byzantium',
      replication: 'quorum',
      keys: 5,
      tombstones: 1,
      repair_backlog: null,
      state_hash: '0123456789abcdef',
      members: ['athens', 'byzantium', 'cyrene'].map((member) => ({
        name: member,
        self: member === 'byzantium',
        client_urls: member === 'byzantium' ? ['http://127.0.0.1:2379'] : [],
        agreed: member !== 'cyrene',
        suspected: false,
      })),
    });
    expect(rows.map((row) => [row.name, row.role, row.suspectedByPeers])).toEqual([
      ['athens', 'quorum', false],
      ['byzantium', 'quorum', null],
      // Not agreed on the settings yet: not counted live.
      ['cyrene', 'quorum', true],
    ]);
    expect(rows[1]).toMatchObject({
      clientUrl: 'http://127.0.0.1:2379',
      generation: null,
      highWaterMark: null,
      quorum: { keys: 5, tombstones: 1, stateHash: '0123456789ab', repairBacklog: null },
    });
    expect(rows[0]?.quorum).toBeUndefined();
    expect(quorumNodeViewsFromStatus(clusterBody('a', 'leader', 1, 2))).toEqual([]);
  });

  it('rejects answers that are not a cluster status', () => {
    expect(parseClusterReport({ name: 'a' })).toBe(undefined);
    expect(parseClusterReport(null)).toBe(undefined);
    expect(parseClusterReport(clusterBody('a', 'weird', 1, 2))?.role).toBe('unknown');
  });
});

describe('ClusterObserver', () => {
  it('publishes views with the leader, its changes and the throughput', async () => {
    let nodes = [node('a', { role: 'leader', highWaterMark: 10 }), node('b')];
    let now = 0;
    const observer = new ClusterObserver({
      source: { sample: () => Promise.resolve(nodes) },
      intervalMs: 500,
      demo: true,
      timers: { setTimeout: () => 0, clearTimeout: () => undefined },
      clock: { now: () => now },
      wallClock: { now: () => 1_700_000_000_000 + now },
      injectedFaults: () => ({ a: 'paused' }),
    });
    const seen: string[] = [];
    observer.subscribe((view) => seen.push(view.leader ?? 'none'));
    await observer.refresh();
    now = 1000;
    nodes = [
      node('a', { role: 'unreachable', highWaterMark: null }),
      node('b', { role: 'leader', highWaterMark: 30 }),
    ];
    const view = await observer.refresh();
    expect(seen).toEqual(['a', 'b']);
    expect(view.entriesPerSecond).toBe(20);
    expect(view.leaderChanges.map((change) => change.leader)).toEqual(['a', 'b']);
    expect(view.throughputHistory).toHaveLength(2);
    expect(view).toMatchObject({ demo: true, injectedFaults: { a: 'paused' } });
  });

  it('marks every node unreachable when the source fails', async () => {
    let fail = false;
    const observer = new ClusterObserver({
      source: {
        sample: () => (fail ? Promise.reject(new Error('down')) : Promise.resolve([node('a')])),
      },
      intervalMs: 500,
      demo: false,
      timers: { setTimeout: () => 0, clearTimeout: () => undefined },
      clock: { now: () => 0 },
      wallClock: { now: () => 0 },
    });
    await observer.refresh();
    fail = true;
    const view = await observer.refresh();
    expect(view.nodes.map((entry) => entry.role)).toEqual(['unreachable']);
  });
});
