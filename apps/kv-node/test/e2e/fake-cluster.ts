/**
 * A pretend 3-node cluster for dashboard tests: a status source and a demo control over the same
 * state. Killing the leader makes the cluster leaderless for one sample, then elects the first
 * live node in a higher generation, like a failover.
 */

import type { ClusterStatusSource } from '../../src/dashboard/cluster-status-source.js';
import type { NodeView } from '../../src/dashboard/cluster-view.js';
import type { DemoControl } from '../../src/dashboard/demo-control.js';

interface FakeNode {
  name: string;
  state: 'running' | 'killed' | 'paused';
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
    this.nodes = names.map((name) => ({ name, state: 'running', lastIndex: 100 }));
    this.leader = names[0];
  }

  sample(): Promise<NodeView[]> {
    if (this.#electionPending && this.leader === undefined) {
      this.#electionPending = false;
    } else if (this.leader === undefined) {
      const next = this.nodes.find((candidate) => candidate.state === 'running');
      if (next !== undefined) {
        this.generation++;
        this.leader = next.name;
      }
    }
    for (const entry of this.nodes) if (entry.state === 'running') entry.lastIndex += 3;
    const leaderIndex = this.nodes.find((entry) => entry.name === this.leader)?.lastIndex ?? 0;
    return Promise.resolve(
      this.nodes.map((entry): NodeView => {
        if (entry.state !== 'running') {
          return {
            name: entry.name,
            role: 'unreachable',
            generation: null,
            lastIndex: null,
            highWaterMark: null,
            lowWaterMark: null,
            appliedIndex: null,
            lagBehindLeader: null,
            heartbeatAgeMs: null,
            clientUrl: null,
          };
        }
        return {
          name: entry.name,
          role: entry.name === this.leader ? 'leader' : 'follower',
          generation: this.generation,
          lastIndex: entry.lastIndex,
          highWaterMark: entry.lastIndex - 1,
          lowWaterMark: 50,
          appliedIndex: entry.lastIndex - 1,
          lagBehindLeader: Math.max(0, leaderIndex - entry.lastIndex),
          heartbeatAgeMs: entry.name === this.leader ? 0 : 40,
          clientUrl: null,
        };
      }),
    );
  }

  #find(name: string): FakeNode {
    const found = this.nodes.find((entry) => entry.name === name);
    if (found === undefined) throw new Error(`no member ${name}`);
    return found;
  }

  #stop(name: string, state: 'killed' | 'paused'): Promise<void> {
    this.#find(name).state = state;
    if (this.leader === name) {
      this.leader = undefined;
      this.#electionPending = true;
    }
    return Promise.resolve();
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
    return Promise.reject(new Error('partition is not available in this fake'));
  }

  heal(): Promise<void> {
    this.actions.push('heal');
    return Promise.resolve();
  }
}
