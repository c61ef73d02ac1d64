import { checkHistory, registerModel, type CheckResult, type Model } from '@x/linearizability';
import { defaultDiskLatency, type DiskLatency } from './disk-latency.js';
import { describeFault, type Fault, type ScheduledFault } from './fault.js';
import { HistoryRecorder } from './history-recorder.js';
import { exponentialLatency, type LatencyDistribution } from './latency.js';
import type { LogSink } from './process-logger.js';
import { SimulatedClient } from './simulated-client.js';
import { SimulatedNetwork, type LinkConditions } from './simulated-network.js';
import { SimulatedNode, type NodeFactory } from './simulated-node.js';
import { Simulation, type SimulationOptions } from './simulation.js';
import { SometimesCounters } from './sometimes.js';
import { describeError } from './describe-error.js';

/** Default node names, in order: a cluster of n nodes uses the first n. */
export const defaultNodeNames: readonly string[] = [
  'athens',
  'byzantium',
  'cyrene',
  'delphi',
  'ephesus',
  'fez',
  'gortyn',
  'halicarnassus',
  'ithaca',
];

/** Options of a {@link Cluster}. */
export interface ClusterOptions<TNode> extends SimulationOptions {
  /** Builds one incarnation of a node from its ports. */
  createNode: NodeFactory<TNode>;
  /** A node count (names from {@link defaultNodeNames}, then `node-10`, ...) or explicit names. Default 3. */
  nodes?: number | readonly string[];
  /** Default conditions of every network link. */
  network?: Partial<LinkConditions>;
  /** Latency between clients and nodes (each way). Default 0.5 ms plus an exponential tail of mean 0.5 ms. */
  clientLatency?: LatencyDistribution;
  /** Disk operation latency. Default {@link defaultDiskLatency}. */
  diskLatency?: DiskLatency;
  /** Sector size for torn writes at power loss, in bytes. Default 512. */
  sectorSize?: number;
  /**
   * Monotonic clocks: each node's offset is drawn in [0, maxOffsetMs) and its drift in
   * [-maxDriftPpm, +maxDriftPpm] from the node's stream. Defaults 1,000,000 ms and 100 ppm.
   */
  clocks?: { maxOffsetMs?: number; maxDriftPpm?: number };
  /** Receives every log line of every node (count "sometimes" events, or print for debugging). */
  onLog?: LogSink;
  /** Counters shared across runs (seeds); a fresh one per cluster if omitted. */
  sometimes?: SometimesCounters;
  /** When a node factory rejects: `fail` the run (default), or treat it as a `crash` of that node. */
  onStartFailure?: 'fail' | 'crash';
}

/** An invariant over the whole cluster: return false or throw to report a violation. */
export type Invariant<TNode> = (cluster: Cluster<TNode>) => boolean | void;

/** Thrown (as the cause of the run's failure) when an invariant does not hold after a step. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  constructor(
    /** The invariant's name. */
    readonly invariant: string,
    /** Virtual time of the step after which it failed. */
    readonly time: number,
    cause: unknown,
  ) {
    super(
      `invariant "${invariant}" violated at ${time} virtual ms${cause === undefined ? '' : `: ${describeError(cause)}`}`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** Thrown by {@link Cluster.assertLinearizable} when the history is not linearizable or the check is unknown. */
export class LinearizabilityViolation extends Error {
  override readonly name = 'LinearizabilityViolation';
  constructor(
    /** The checker's answer (`not-linearizable` or `unknown`). */
    readonly result: CheckResult,
  ) {
    super(
      result.outcome === 'not-linearizable'
        ? `history is not linearizable on key ${JSON.stringify(result.key)}\n${result.timeline}`
        : result.outcome === 'unknown'
          ? `linearizability unknown (${result.reason} exhausted on key ${JSON.stringify(result.key)}): counted as a failure`
          : 'linearizable',
    );
  }
}

/**
 * A named cluster of simulated nodes on one deterministic simulation: the harness.
 *
 * Build it from a node factory, {@link start} it, drive it with {@link runFor} / {@link runUntil},
 * submit client operations with {@link client}, disturb it with faults (node methods, {@link network},
 * {@link apply}, {@link schedule}, `injectRandomFaults`), check {@link invariant}s after every step,
 * and check the recorded history with {@link assertLinearizable}.
 */
export class Cluster<TNode> {
  /** The event loop, virtual time, random streams and trace hash. */
  readonly simulation: Simulation;
  /** The network between the nodes: conditions and partitions. */
  readonly network: SimulatedNetwork;
  /** Every node, in cluster order. */
  readonly nodes: readonly SimulatedNode<TNode>[];
  /** The history of client operations, for `@x/linearizability`. */
  readonly history: HistoryRecorder;
  /** "Sometimes" counters; faults applied are counted as `fault:<kind>`. */
  readonly sometimes: SometimesCounters;

  private readonly byName = new Map<string, SimulatedNode<TNode>>();
  private readonly invariants: { name: string; check: Invariant<TNode> }[] = [];
  private readonly crashListeners: ((node: SimulatedNode<TNode>, reason: string) => void)[] = [];
  private readonly clients: SimulatedClient<TNode>[] = [];
  private readonly clientLatency: LatencyDistribution;
  private started = false;

  /** Builds the nodes (not started yet: call {@link start}). @throws RangeError for bad node names or counts. */
  constructor(options: ClusterOptions<TNode>) {
    const simulation = new Simulation(options);
    this.simulation = simulation;
    this.network = new SimulatedNetwork(simulation, options.network);
    this.history = new HistoryRecorder(simulation);
    this.sometimes = options.sometimes ?? new SometimesCounters();
    this.clientLatency = options.clientLatency ?? exponentialLatency(0.5, 0.5);
    const names = nodeNames(options.nodes ?? 3);
    const maxOffsetMs = options.clocks?.maxOffsetMs ?? 1_000_000;
    const maxDriftPpm = options.clocks?.maxDriftPpm ?? 100;
    const environment = {
      simulation,
      network: this.network,
      factory: options.createNode,
      allNames: names,
      diskLatency: options.diskLatency ?? defaultDiskLatency,
      sectorSize: options.sectorSize ?? 512,
      logSink: options.onLog,
      startFailure: options.onStartFailure ?? 'fail',
      onCrash: (node: SimulatedNode<TNode>, reason: string) => {
        for (const listener of this.crashListeners) listener(node, reason);
      },
    };
    this.nodes = names.map((name) => {
      const clockRandom = simulation.random.stream(`clock/${name}`);
      const node = new SimulatedNode(
        name,
        environment,
        {
          offsetMs: clockRandom.between(0, maxOffsetMs),
          driftPpm: clockRandom.between(-maxDriftPpm, maxDriftPpm),
        },
        // Wall clocks start near 2025-01-01 and disagree by up to a second.
        1_735_689_600_000 + clockRandom.between(-1_000, 1_000),
      );
      this.byName.set(name, node);
      return node;
    });
    simulation.afterEachStep(() => this.checkInvariants());
  }

  /** The run's seed. */
  get seed(): string | number {
    return this.simulation.seed;
  }

  /** Virtual time in milliseconds since the start. */
  get now(): number {
    return this.simulation.now;
  }

  /** The trace hash so far (16 hex digits). */
  get traceHash(): string {
    return this.simulation.traceHash;
  }

  /** Node names in cluster order. */
  get names(): string[] {
    return this.nodes.map((node) => node.name);
  }

  /** Nodes that exist as processes (running or paused) with a built instance. */
  get liveNodes(): SimulatedNode<TNode>[] {
    return this.nodes.filter((node) => node.instance !== undefined);
  }

  /** Nodes that are running (not paused, crashed or starting). */
  get runningNodes(): SimulatedNode<TNode>[] {
    return this.nodes.filter((node) => node.state === 'running');
  }

  /** The node with this name. @throws RangeError for an unknown name. */
  node(name: string): SimulatedNode<TNode> {
    const node = this.byName.get(name);
    if (node === undefined) throw new RangeError(`no node named ${JSON.stringify(name)}`);
    return node;
  }

  /**
   * Starts every node (their factories run at virtual time 0) and runs until all are running.
   * @throws SimulationTimeoutError if a node is not running after `timeoutMs` virtual ms (default 60,000).
   */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.started) throw new Error('the cluster was already started');
    this.started = true;
    for (const node of this.nodes) node.scheduleStart();
    await this.simulation.runUntil(
      () => this.nodes.every((node) => node.state !== 'starting'),
      timeoutMs,
    );
  }

  /** Runs the simulation for `durationMs` virtual milliseconds. @throws SimulationFailedError on failure. */
  runFor(durationMs: number): Promise<void> {
    return this.simulation.runFor(durationMs);
  }

  /**
   * Runs until `condition` holds. @throws SimulationTimeoutError after `timeoutMs` virtual ms
   * (default 60,000); SimulationFailedError on failure.
   */
  runUntil(condition: () => boolean, timeoutMs?: number): Promise<void> {
    return this.simulation.runUntil(condition, timeoutMs);
  }

  /**
   * Adds an invariant, checked after every step (keep it cheap: it runs thousands of times).
   * A violation fails the run with an {@link InvariantViolation}.
   */
  invariant(name: string, check: Invariant<TNode>): void {
    this.invariants.push({ name, check });
  }

  /** Calls `listener` whenever a node dies (crash, halt, or failed start). */
  onNodeCrash(listener: (node: SimulatedNode<TNode>, reason: string) => void): void {
    this.crashListeners.push(listener);
  }

  /** The client with this id (0, 1, ...), created on first use. Clients never crash. */
  client(clientId: number): SimulatedClient<TNode> {
    let client = this.clients[clientId];
    if (client === undefined) {
      client = new SimulatedClient(clientId, {
        simulation: this.simulation,
        history: this.history,
        nodes: this.nodes,
        latency: this.clientLatency,
        node: (name) => this.node(name),
      });
      this.clients[clientId] = client;
    }
    return client;
  }

  /** Applies a fault now, counts it in {@link sometimes} as `fault:<kind>` and mixes it into the trace. */
  apply(fault: Fault): void {
    const simulation = this.simulation;
    simulation.trace.addString(describeFault(fault));
    simulation.trace.log(() => `${simulation.now} fault ${describeFault(fault)}`);
    this.sometimes.hit(`fault:${fault.kind}`);
    switch (fault.kind) {
      case 'crash':
        this.node(fault.node).crash(
          fault.powerLoss === undefined ? {} : { powerLoss: fault.powerLoss },
        );
        return;
      case 'restart': {
        const node = this.node(fault.node);
        if (node.state === 'crashed') node.restart();
        return;
      }
      case 'pause': {
        const node = this.node(fault.node);
        node.pause();
        if (fault.durationMs !== undefined) {
          simulation.schedule(fault.durationMs, `resume ${node.name}`, () => node.resume());
        }
        return;
      }
      case 'resume':
        this.node(fault.node).resume();
        return;
      case 'partition':
        this.network.partition(...fault.groups);
        return;
      case 'isolate':
        this.network.isolate(fault.node);
        return;
      case 'one-way':
        this.network.blockOneWay(fault.from, fault.to);
        return;
      case 'bridge':
        this.network.bridge(fault.node);
        return;
      case 'ring':
        this.network.ring();
        return;
      case 'heal':
        this.network.heal();
        return;
      case 'reset':
        this.network.resetConnection(fault.a, fault.b);
        return;
      case 'clock-jump':
        this.node(fault.node).jumpClock(fault.ms);
        return;
      case 'disk-error':
        this.node(fault.node).disk.injectFault({
          operation: fault.operation,
          times: fault.times ?? 1,
        });
        return;
    }
  }

  /** Schedules scripted faults at absolute virtual times (past times apply at once). */
  schedule(faults: readonly ScheduledFault[]): void {
    for (const { atMs, fault } of faults) {
      this.simulation.scheduleAt(atMs, 'fault', () => this.apply(fault));
    }
  }

  /** Heals the network, resumes paused nodes and restarts crashed ones: the end of a fault period. */
  recover(): void {
    this.apply({ kind: 'heal' });
    for (const node of this.nodes) {
      if (node.state === 'paused') this.apply({ kind: 'resume', node: node.name });
      if (node.state === 'crashed') this.apply({ kind: 'restart', node: node.name });
    }
  }

  /**
   * Checks the recorded history with `@x/linearizability` (default model: a register per key with
   * read/write/cas, initially null).
   */
  checkLinearizability<State>(model?: Model<State>, stepBudget?: number): CheckResult {
    const budget = stepBudget === undefined ? {} : { stepBudget };
    if (model === undefined) {
      return checkHistory(this.history.events, { model: registerModel(), ...budget });
    }
    return checkHistory(this.history.events, { model, ...budget });
  }

  /**
   * Like {@link checkLinearizability}, but throws unless the answer is `linearizable`
   * (`unknown` is a failure: nothing was proven).
   * @throws LinearizabilityViolation
   */
  assertLinearizable<State>(model?: Model<State>, stepBudget?: number): void {
    const result = this.checkLinearizability(model, stepBudget);
    if (result.outcome !== 'linearizable') throw new LinearizabilityViolation(result);
  }

  private checkInvariants(): void {
    for (const { name, check } of this.invariants) {
      let verdict: boolean | void;
      try {
        verdict = check(this);
      } catch (error) {
        throw new InvariantViolation(name, this.simulation.now, error);
      }
      if (verdict === false) throw new InvariantViolation(name, this.simulation.now, undefined);
    }
  }
}

function nodeNames(nodes: number | readonly string[]): string[] {
  if (typeof nodes !== 'number') {
    if (new Set(nodes).size !== nodes.length) throw new RangeError('node names must be unique');
    return [...nodes];
  }
  if (!Number.isInteger(nodes) || nodes < 1) throw new RangeError(`bad node count ${nodes}`);
  return Array.from(
    { length: nodes },
    (_, index) => defaultNodeNames[index] ?? `node-${index + 1}`,
  );
}
