/**
 * A pretend 3-node cluster for dashboard tests: a status source and a demo control over the same
 * state. Killing, pausing or partitioning the leader makes the cluster leaderless for one sample,
 * then elects the first live, connected node in a higher generation, like a failover. A
 * partitioned node stays in its generation and falls behind; healed, it catches up.
 */

import type { ClusterStatusSource } from '../../src/dashboard/cluster-status-source.js';
import type { NodeView } from '../../src/dashboard/cluster-view.js';
import type { DemoControl } from '../../src/dashboard/demo-control.js';

interface FakeNode {
  name: string;
  state: 'running' | 'killed' | 'paused';
  partitioned: boolean;
  /** The generation the node is in (a partitioned node misses the elections). */
  generation: number;
  lastIndex: number;
}

/** A scripted cluster: state changes only through the demo actions. */
export class FakeCluster implements ClusterStatusSource, DemoControl {
  readonly nodes: FakeNode[];
  readonly actions: string[] = [];
  leader: string | undefined;
  generation = 1;
  #electionPending = false;

  constructor(names: readonly string[] = ['node-1', 'node-2', 'node-3']) {
    this.nodes = names.map((name) => ({
      name,
      state: 'running',
      partitioned: false,
      generation: 1,
      lastIndex: 100,
    }));
    this.leader = names[0];
  }

  sample(): Promise<NodeView[]> {
    if (this.#electionPending && this.leader === undefined) {
      this.#electionPending = false;
    } else if (this.leader === undefined) {
      const next = this.nodes.find(FakeCluster.#connected);
      if (next !== undefined) {
        this.generation++;
        this.leader = next.name;
      }
    }
    for (const entry of this.nodes) {
      if (!FakeCluster.#connected(entry)) continue;
      entry.lastIndex += 3;
      entry.generation = this.generation;
    }
    const leaderIndex = this.nodes.find((entry) => entry.name === this.leader)?.lastIndex ?? 0;
    // A node that rejoined catches up with the leader at once.
    for (const entry of this.nodes) {
      if (FakeCluster.#connected(entry)) entry.lastIndex = Math.max(entry.lastIndex, leaderIndex);
    }
    return Promise.resolve(
      this.nodes.map((entry): NodeView => {
        if (entry.state !== 'running') {
          return {
            name: entry.name,
            role: 'unreachable',
            generation: null,
            lastIndex: null,
            highWaterMark: null,
            snapshotIndex: null,
            appliedIndex: null,
            lagBehindLeader: null,
            heartbeatAgeMs: null,
            suspectedByLeader: null,
            clientUrl: null,
          };
        }
        return {
          name: entry.name,
          role: entry.name === this.leader ? 'leader' : 'follower',
          generation: entry.generation,
          lastIndex: entry.lastIndex,
          highWaterMark: entry.lastIndex - 1,
          snapshotIndex: 50,
          appliedIndex: entry.lastIndex - 1,
          lagBehindLeader: Math.max(0, leaderIndex - entry.lastIndex),
          // The leader has not heard from a node cut off from it for a while.
          heartbeatAgeMs: entry.name === this.leader ? 0 : entry.partitioned ? 3000 : 40,
          suspectedByLeader: entry.name === this.leader ? null : entry.partitioned,
          clientUrl: null,
        };
      }),
    );
  }

  static #connected(this: void, entry: FakeNode): boolean {
    return entry.state === 'running' && !entry.partitioned;
  }

  #find(name: string): FakeNode {
    const found = this.nodes.find((entry) => entry.name === name);
    if (found === undefined) throw new Error(`no member ${name}`);
    return found;
  }

  #stop(name: string, state: 'killed' | 'paused'): Promise<void> {
    this.#find(name).state = state;
    this.#loseLeader(name);
    return Promise.resolve();
  }

  /** The leader that stops or is cut off loses its leadership (check-quorum). */
  #loseLeader(name: string): void {
    if (this.leader === name) {
      this.leader = undefined;
      this.#electionPending = true;
    }
  }

  kill(name: string): Promise<void> {
    this.actions.push(`kill ${name}`);
    return this.#stop(name, 'killed');
  }

  restart(name: string): Promise<void> {
    this.actions.push(`restart ${name}`);
    this.#find(name).state = 'running';
    return Promise.resolve();
  }

  pause(name: string): Promise<void> {
    this.actions.push(`pause ${name}`);
    return this.#stop(name, 'paused');
  }

  resume(name: string): Promise<void> {
    this.actions.push(`resume ${name}`);
    this.#find(name).state = 'running';
    return Promise.resolve();
  }

  partition(name: string): Promise<void> {
    this.actions.push(`partition ${name}`);
    this.#find(name).partitioned = true;
    this.#loseLeader(name);
    return Promise.resolve();
  }

  heal(): Promise<void> {
    this.actions.push('heal');
    for (const entry of this.nodes) entry.partitioned = false;
    return Promise.resolve();
  }
}
