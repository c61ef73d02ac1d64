/**
 * Samples the cluster at a steady pace and turns the samples into the {@link ClusterView} the
 * page shows: the rows, the leader timeline and the throughput. Listeners (the open pages) get
 * every new view.
 */

import type { ClusterStatusSource } from './cluster-status-source.js';
import type { ClusterView, InjectedFault, NodeView, ThroughputPoint } from './cluster-view.js';
import type { Clock, Timers } from './dashboard-ports.js';
import { LeaderTimeline, currentLeader } from './leader-timeline.js';
import { ThroughputMeter } from './throughput-meter.js';

/** Options of {@link ClusterObserver}. */
export interface ClusterObserverOptions {
  source: ClusterStatusSource;
  /** Pause between the end of one sample and the start of the next, in ms. */
  intervalMs: number;
  /** Whether views say the demo buttons are available. */
  demo: boolean;
  /** Whether views say the member buttons are available (default false). */
  memberChanges?: boolean;
  timers: Timers;
  /** Monotonic time for rates. */
  clock: Clock;
  /** Wall time for the timestamps people read. */
  wallClock: Clock;
  /** Most throughput points kept (default 120). */
  throughputHistoryLimit?: number;
  /** The faults injected from the page now (default: none). */
  injectedFaults?: () => Record<string, InjectedFault>;
}

/** A listener for new views; it must not throw. */
export type ClusterViewListener = (view: ClusterView) => void;

function highestHighWaterMark(nodes: readonly NodeView[]): number | null {
  let highest: number | null = null;
  for (const node of nodes) {
    if (node.highWaterMark !== null && (highest === null || node.highWaterMark > highest)) {
      highest = node.highWaterMark;
    }
  }
  return highest;
}

/** Polls a {@link ClusterStatusSource} and publishes views; one sample at a time. */
export class ClusterObserver {
  readonly #options: ClusterObserverOptions;
  readonly #timeline = new LeaderTimeline();
  readonly #meter = new ThroughputMeter();
  readonly #throughput: ThroughputPoint[] = [];
  readonly #listeners = new Set<ClusterViewListener>();
  #latest: ClusterView | undefined;
  #timer: unknown;
  #running = false;
  #closed = false;

  /** @param options the source, the pace and the clocks. */
  constructor(options: ClusterObserverOptions) {
    this.#options = options;
  }

  /** The latest view, if a sample has completed. */
  get latest(): ClusterView | undefined {
    return this.#latest;
  }

  /** Starts the polling loop (idempotent). The first sample is taken at once. */
  start(): void {
    if (this.#running || this.#closed) return;
    this.#running = true;
    void this.#loop();
  }

  /** Calls `listener` with every new view; returns the function that unsubscribes. */
  subscribe(listener: ClusterViewListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Takes one sample now, publishes the view and returns it. */
  async refresh(): Promise<ClusterView> {
    let nodes: NodeView[];
    try {
      nodes = await this.#options.source.sample();
    } catch {
      nodes = (this.#latest?.nodes ?? []).map((node) => ({ ...node, role: 'unreachable' }));
    }
    const wallMs = this.#options.wallClock.now();
    this.#timeline.observe(wallMs, nodes);
    const entriesPerSecond = this.#meter.record(
      this.#options.clock.now(),
      highestHighWaterMark(nodes),
    );
    this.#throughput.push({ atMs: wallMs, entriesPerSecond });
    if (this.#throughput.length > (this.#options.throughputHistoryLimit ?? 120)) {
      this.#throughput.shift();
    }
    const view: ClusterView = {
      sampledAtMs: wallMs,
      nodes,
      leader: currentLeader(nodes)?.name ?? null,
      leaderChanges: this.#timeline.changes(),
      entriesPerSecond,
      throughputHistory: [...this.#throughput],
      demo: this.#options.demo,
      memberChanges: this.#options.memberChanges ?? false,
      injectedFaults: this.#options.injectedFaults?.() ?? {},
    };
    this.#latest = view;
    for (const listener of this.#listeners) listener(view);
    return view;
  }

  /** Stops polling and forgets the listeners. */
  close(): void {
    this.#closed = true;
    this.#running = false;
    if (this.#timer !== undefined) this.#options.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  async #loop(): Promise<void> {
    if (!this.#running) return;
    await this.refresh();
    if (!this.#running) return;
    this.#timer = this.#options.timers.setTimeout(() => {
      this.#timer = undefined;
      void this.#loop();
    }, this.#options.intervalMs);
  }
}
