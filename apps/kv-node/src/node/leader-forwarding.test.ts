import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../codec/command-codec.js';
import { ApiError, GrpcCode, indeterminate, tooManyRequests } from '../http/api-error.js';
import type { ClusterStatus } from '../http/kv-backend.js';
import { silentLogger } from '../logging/logger.js';
import { rangeRequest } from '../store/kv-types.js';
import type { ApplyOutcome } from '../store/kv-state-machine.js';
import { KvStateMachine } from '../store/kv-state-machine.js';
import { RequestWaitingList } from '@x/high-water-mark';
import { BinaryWriter } from '../codec/binary-writer.js';
import { decodeWriteBatchResponse, encodeWriteBatchRequest } from './forwarding-messages.js';
import { ForwardRefusal } from './forwarded-outcome.js';
import { LeaderForwarding } from './leader-forwarding.js';
import type { LocalReplica } from './local-replica.js';
import { ReplicatedBackend } from './replicated-backend.js';
import type { Transport } from './transport.js';
import { splitTransport } from './transport.js';

type Handler = (from: string, type: number, payload: Uint8Array) => void;

/** A loopback network: delivers asynchronously, in order, unless a link is cut. */
class Network {
  readonly handlers = new Map<string, Handler>();
  readonly cut = new Set<string>();
  readonly delivered: number[] = [];

  transport(self: string): Transport {
    return {
      send: (to, type, payload) => {
        if (this.cut.has(to) || this.cut.has(self)) return;
        const copy = payload.slice();
        queueMicrotask(() => {
          this.delivered.push(type);
          this.handlers.get(to)?.(self, type, copy);
        });
      },
      onMessage: (handler) => {
        this.handlers.set(self, handler);
      },
    };
  }
}

/** A replica over one state machine; `leader` decides who leads. */
class FakeReplica implements LocalReplica {
  readonly machine = new KvStateMachine();
  readonly appliedWaiters = new RequestWaitingList();
  index = 0;
  failWith: ApiError | undefined;

  constructor(
    readonly name: string,
    readonly cluster: { leader: string | undefined },
  ) {}

  get store() {
    return this.machine.store;
  }
  get auth() {
    return this.machine.auth;
  }
  get leases() {
    return this.machine.leases;
  }

  get alarms() {
    return this.machine.alarms;
  }
  isLeader(): boolean {
    return this.cluster.leader === this.name;
  }
  leaderName(): string | undefined {
    return this.cluster.leader;
  }
  propose(command: Uint8Array): Promise<ApplyOutcome> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    const outcome = this.machine.apply(++this.index, command)!;
    this.appliedWaiters.advanceTo(this.index);
    return Promise.resolve(outcome);
  }
  readBarrier(): Promise<number> {
    return Promise.resolve(this.index);
  }
  waitForApplied(index: number): Promise<void> {
    const waiters = this.appliedWaiters;
    return index <= waiters.reachedIndex ? Promise.resolve() : waiters.add(index);
  }
  status(): ClusterStatus {
    throw new Error('unused');
  }
}

const timers = {
  setTimeout: (callback: () => void, delayMs: number) => setTimeout(callback, delayMs),
  clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
};

function twoNodes() {
  const network = new Network();
  const cluster: { leader: string | undefined } = { leader: 'a' };
  const nodes = ['a', 'b'].map((name) => {
    const replica = new FakeReplica(name, cluster);
    const { node, replication } = splitTransport(network.transport(name));
    replication.onMessage(() => undefined);
    const forwarding = new LeaderForwarding({
      transport: node,
      replica,
      timers,
      logger: silentLogger,
      timeoutMs: 100,
    });
    return { replica, forwarding, backend: new ReplicatedBackend(replica, forwarding) };
  });
  return { network, cluster, a: nodes[0]!, b: nodes[1]! };
}

const put = (key: string, value: string, requestId?: string) => ({
  type: 'put' as const,
  request: { key, value, prevKv: false },
  ...(requestId === undefined ? {} : { requestId }),
});

describe('leader forwarding', () => {
  it('forwards a follower write to the leader and returns its outcome', async () => {
    const { a, b } = twoNodes();
    expect(await b.backend.write(put('k', 'v'))).toEqual({
      status: 'applied',
      result: { type: 'put', result: { revision: 2 } },
    });
    expect(a.replica.store.range(rangeRequest('k')).kvs[0]?.value).toBe('v');
    expect(await b.backend.write(put('k', 'v', 'id'))).toMatchObject({ status: 'applied' });
    expect(await b.backend.write(put('k', 'v', 'id'))).toMatchObject({ status: 'replayed' });
    expect(await b.backend.write(put('k', 'other', 'id'))).toMatchObject({ status: 'rejected' });
  });

  it("passes the leader's classified errors through", async () => {
    const { a, b } = twoNodes();
    a.replica.failWith = indeterminate('leadership lost while waiting');
    const error = await b.backend.write(put('k', 'v')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).details).toMatchObject({ status: 504, definite: false });
  });

  it('makes a follower read wait until it has applied the read barrier from the leader', async () => {
    const { a, b } = twoNodes();
    await a.backend.write(put('k', 'v'));
    let served = false;
    const read = b.backend.readBarrier().then(() => {
      served = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(served).toBe(false);
    // The follower applies the entry (as replication would) and the read may go ahead.
    b.replica.machine.apply(1, encodeCommand(put('k', 'v')));
    b.replica.appliedWaiters.advanceTo(1);
    await read;
    expect(served).toBe(true);
  });

  it('answers 503 (definite) without a leader, and when the leader has moved', async () => {
    const { b, cluster } = twoNodes();
    cluster.leader = undefined;
    await expect(b.backend.write(put('k', 'v'))).rejects.toMatchObject({
      details: { status: 503, reason: 'no_leader', definite: true },
    });
    await expect(b.backend.readBarrier()).rejects.toMatchObject({ details: { status: 503 } });
    cluster.leader = 'c'; // b believes c leads, but c's messages go nowhere: a timeout
    await expect(b.backend.write(put('k', 'v'))).rejects.toMatchObject({
      details: { status: 504, definite: false },
    });
  });

  it('times out lost requests: 504 for writes (may have applied), 503 for reads', async () => {
    const { b, network } = twoNodes();
    network.cut.add('a');
    await expect(b.backend.write(put('k', 'v'))).rejects.toMatchObject({
      details: { status: 504, definite: false },
    });
    await expect(b.backend.readBarrier()).rejects.toMatchObject({
      details: { status: 503, definite: true },
    });
  });

  it('a node that is no longer leader refuses a forwarded write definitely', async () => {
    const { a, b, cluster } = twoNodes();
    // b still thinks a leads, a knows it does not.
    const replicaB = b.replica as FakeReplica & { leaderName(): string | undefined };
    replicaB.leaderName = () => 'a';
    replicaB.isLeader = () => false;
    cluster.leader = 'c';
    await expect(b.backend.write(put('k', 'v'))).rejects.toMatchObject({
      details: { status: 503, definite: true },
    });
    expect(a.replica.store.size).toBe(0);
  });

  it('ignores malformed and unknown messages on the reserved types', async () => {
    const { a, b, network } = twoNodes();
    network.handlers.get('a')!('b', 0xff01, Uint8Array.of(0xff));
    network.handlers.get('a')!('b', 0xffee, Uint8Array.of(1));
    expect(await b.backend.write(put('k', 'v'))).toMatchObject({ status: 'applied' });
    expect(a.replica.store.size).toBe(1);
  });

  it('batches concurrent follower reads onto shared read barriers', async () => {
    const { a, b, network } = twoNodes();
    await a.backend.write(put('k', 'v'));
    b.replica.machine.apply(1, encodeCommand(put('k', 'v')));
    b.replica.appliedWaiters.advanceTo(1);
    const before = network.delivered.filter((type) => type === 0xff03).length;
    await Promise.all(Array.from({ length: 20 }, () => b.backend.readBarrier()));
    const barriers = network.delivered.filter((type) => type === 0xff03).length - before;
    expect(barriers).toBeGreaterThanOrEqual(1);
    expect(barriers).toBeLessThanOrEqual(2);
  });

  it('sends the writes forwarded in one turn as one message and answers them in one', async () => {
    const { a, b, network } = twoNodes();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, index) => b.backend.write(put(`k${index}`, 'v'))),
    );
    expect(outcomes.every((outcome) => outcome.status === 'applied')).toBe(true);
    expect(a.replica.store.size).toBe(20);
    expect(network.delivered.filter((type) => type === 0xff05)).toHaveLength(1);
    expect(network.delivered.filter((type) => type === 0xff06)).toHaveLength(1);
  });

  it('no longer serves the single forwarded writes of members before write batching', async () => {
    const { a, network } = twoNodes();
    const answered: number[] = [];
    network.handlers.set('b', (_from, type) => answered.push(type));
    // The retired single-write request: a correlation id, then the command.
    const legacy = new BinaryWriter(64);
    legacy.writeVarint(7);
    legacy.writeBytes(encodeCommand(put('k', 'v')));
    network.handlers.get('a')!('b', 0xff01, legacy.finish());
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(answered).toEqual([]);
    expect(a.replica.store.size).toBe(0);
  });

  it("answers a refusal in the peer protocol's terms, not with the leader's HTTP error", async () => {
    const { a, network } = twoNodes();
    const answers: Uint8Array[] = [];
    network.handlers.set('b', (_from, type, payload) => {
      if (type === 0xff06) answers.push(payload);
    });
    a.replica.failWith = tooManyRequests(2.5);
    network.handlers.get('a')!(
      'b',
      0xff05,
      encodeWriteBatchRequest([{ correlationId: 7, command: encodeCommand(put('k', 'v')) }]),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    const [answer] = decodeWriteBatchResponse(answers[0]!);
    expect(answer?.outcome).toBeInstanceOf(ForwardRefusal);
    expect(answer?.outcome).toMatchObject({ reason: 'too_many_requests', retryAfterSeconds: 3 });
  });

  it('maps each refusal to the error its client expects at the forwarding member', async () => {
    const { a, b } = twoNodes();
    a.replica.failWith = tooManyRequests(2);
    await expect(b.backend.write(put('k', 'v'))).rejects.toMatchObject({
      message: 'etcdserver: too many requests',
      details: {
        status: 429,
        grpcCode: GrpcCode.resourceExhausted,
        definite: true,
        retryAfterSeconds: 2,
      },
    });
    // An error the protocol has no reason for: the write may have been applied.
    a.replica.failWith = new ApiError('odd', {
      reason: 'internal',
      status: 500,
      grpcCode: GrpcCode.internal,
      definite: false,
    });
    await expect(b.backend.write(put('k', 'v'))).rejects.toMatchObject({
      details: { reason: 'indeterminate', status: 504, definite: false },
    });
  });

  it('ignores malformed write batches', async () => {
    const { a, b, network } = twoNodes();
    network.handlers.get('a')!('b', 0xff05, Uint8Array.of(0xff, 0xff, 0xff, 0x7f));
    network.handlers.get('a')!('b', 0xff05, Uint8Array.of(2, 1, 0));
    network.handlers.get('b')!('a', 0xff06, Uint8Array.of(3, 1));
    expect(await b.backend.write(put('k', 'v'))).toMatchObject({ status: 'applied' });
    expect(a.replica.store.size).toBe(1);
  });

  it('sends forwarded writes in the socket write of a replication message to the leader', async () => {
    const sent: string[] = [];
    const { replication, node } = splitTransport({
      send: (to, type) => sent.push(`${to}:${type.toString(16)}`),
      onMessage: () => undefined,
    });
    const forwarding = new LeaderForwarding({
      transport: node,
      replica: new FakeReplica('b', { leader: 'a' }),
      timers,
      logger: silentLogger,
      timeoutMs: 1000,
    });
    const settled: Promise<unknown>[] = [];
    const forward = (): void => {
      settled.push(forwarding.forwardWrite('a', encodeCommand(put('k', 'v'))).catch(() => {}));
    };
    const turnEnd = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    forward();
    forward();
    expect(sent).toEqual([]); // waiting for the end of the turn
    replication.send('a', 0x4c04, new Uint8Array(1));
    expect(sent).toEqual(['a:ff05', 'a:4c04']); // the batch went first, into the same write
    forward(); // the write to the leader is due this turn: no need to wait for its end
    await Promise.resolve();
    expect(sent).toEqual(['a:ff05', 'a:4c04', 'a:ff05']);
    replication.send('c', 0x4c04, new Uint8Array(1)); // another peer: nothing of ours to send
    expect(sent).toHaveLength(4);

    await turnEnd();
    forward(); // a new turn: batched until its end again
    await Promise.resolve();
    expect(sent).toHaveLength(4);
    await turnEnd();
    expect(sent.at(-1)).toBe('a:ff05');
    forwarding.close();
    await Promise.all(settled);
  });
});
