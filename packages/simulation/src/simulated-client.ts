import type { HistoryValue } from '@x/linearizability';
import type { ClientOperation, HistoryRecorder } from './history-recorder.js';
import type { LatencyDistribution } from './latency.js';
import type { SeededRandom } from './seeded-random.js';
import type { SimulatedNode } from './simulated-node.js';
import type { Simulation } from './simulation.js';
import { asError } from './describe-error.js';

/**
 * What a client learned about one operation:
 * - `ok`: it took effect (`value` is what a read returned);
 * - `fail`: it definitely did not take effect and never will (e.g. "not the leader");
 * - `info`: unknown; it may take effect later, or never (timeout, connection lost).
 */
export type OperationOutcome =
  | { readonly type: 'ok'; readonly value?: HistoryValue }
  | { readonly type: 'fail'; readonly error?: unknown }
  | { readonly type: 'info'; readonly error?: unknown };

/** Thrown by {@link ClientContext.call} when the node is not running: a definite failure (connection refused). */
export class NodeUnavailableError extends Error {
  override readonly name = 'NodeUnavailableError';
  constructor(
    /** The node that refused. */
    readonly node: string,
    state: string,
  ) {
    super(`${node} is ${state}`);
  }
}

/** What the `execute` function of a client operation may use. */
export interface ClientContext<TNode> {
  /** The client's process id in the history. */
  readonly clientId: number;
  /** The client's own random stream (`client/<id>`): pick nodes, back off. */
  readonly random: SeededRandom;
  /** Every node of the cluster, in cluster order. */
  readonly nodes: readonly SimulatedNode<TNode>[];
  /**
   * Sends a request to `node` over the client network: after a latency, `request` runs on the
   * node's current instance (held while it is paused); its result comes back after another
   * latency. If the node crashes before answering, the promise never settles (the caller's
   * timeout turns that into `info`).
   * @throws NodeUnavailableError (as a rejection) when the node is not running when the request arrives.
   */
  call<T>(
    node: string | SimulatedNode<TNode>,
    request: (instance: TNode) => T | Promise<T>,
  ): Promise<T>;
  /** Resolves after `ms` virtual milliseconds. */
  sleep(ms: number): Promise<void>;
}

/** @internal The parts of a cluster a client uses. */
export interface ClientEnvironment<TNode> {
  readonly simulation: Simulation;
  readonly history: HistoryRecorder;
  readonly nodes: readonly SimulatedNode<TNode>[];
  readonly latency: LatencyDistribution;
  node(name: string): SimulatedNode<TNode>;
}

/**
 * One client process. It runs one operation at a time, records it in the cluster's history, and
 * turns an exception or a timeout into an indeterminate (`info`) outcome: a client that did not
 * hear back cannot know whether its write happened.
 */
export class SimulatedClient<TNode> implements ClientContext<TNode> {
  /** The client's own random stream. */
  readonly random: SeededRandom;
  private readonly networkRandom: SeededRandom;
  private busy = false;

  /** @internal Created by `Cluster.client`. */
  constructor(
    /** The client's process id in the history. */
    readonly clientId: number,
    private readonly environment: ClientEnvironment<TNode>,
  ) {
    this.random = environment.simulation.random.stream(`client/${clientId}`);
    this.networkRandom = environment.simulation.random.stream(`client-network/${clientId}`);
  }

  /** Every node of the cluster. */
  get nodes(): readonly SimulatedNode<TNode>[] {
    return this.environment.nodes;
  }

  /**
   * Invokes one operation: records `invoke`, runs `execute`, records its outcome. After
   * `timeoutMs` virtual milliseconds without an outcome it records `info` and returns; a later
   * outcome is ignored.
   * @throws Error if this client already has an operation in progress.
   */
  async invoke(
    operation: ClientOperation,
    execute: (context: ClientContext<TNode>) => Promise<OperationOutcome>,
    timeoutMs = 5_000,
  ): Promise<OperationOutcome> {
    if (this.busy) throw new Error(`client ${this.clientId} already has an operation in progress`);
    this.busy = true;
    const { simulation, history } = this.environment;
    history.invoke(this.clientId, operation);
    let outcome: OperationOutcome;
    try {
      outcome = await new Promise<OperationOutcome>((resolve) => {
        const timer = simulation.schedule(timeoutMs, `timeout client/${this.clientId}`, () =>
          resolve({ type: 'info', error: new Error(`timed out after ${timeoutMs} ms`) }),
        );
        execute(this).then(
          (result) => {
            simulation.cancel(timer);
            resolve(result);
          },
          (error: unknown) => {
            simulation.cancel(timer);
            resolve({ type: 'info', error });
          },
        );
      });
    } finally {
      this.busy = false;
    }
    if (outcome.type === 'ok') history.ok(this.clientId, operation, outcome.value);
    else if (outcome.type === 'fail') history.fail(this.clientId, operation);
    else history.info(this.clientId, operation);
    return outcome;
  }

  /** See {@link ClientContext.call}. */
  call<T>(
    target: string | SimulatedNode<TNode>,
    request: (instance: TNode) => T | Promise<T>,
  ): Promise<T> {
    const { simulation } = this.environment;
    const node = typeof target === 'string' ? this.environment.node(target) : target;
    return new Promise<T>((resolve, reject) => {
      const respond = (settle: () => void): void => {
        simulation.schedule(
          this.latency(),
          `response ${node.name}>client/${this.clientId}`,
          settle,
        );
      };
      const arrive = (): void => {
        const instance = node.instance;
        if (instance === undefined || node.state === 'crashed') {
          respond(() => reject(new NodeUnavailableError(node.name, node.state)));
          return;
        }
        const incarnation = node.incarnation;
        let result: Promise<T>;
        try {
          result = Promise.resolve(request(instance));
        } catch (error) {
          result = Promise.reject(asError(error));
        }
        // An answer computed by an incarnation that has since died never leaves the machine.
        result.then(
          (value) => {
            if (node.gate.isCurrent(incarnation)) respond(() => resolve(value));
          },
          (error: unknown) => {
            if (node.gate.isCurrent(incarnation)) respond(() => reject(asError(error)));
          },
        );
      };
      simulation.schedule(
        this.latency(),
        `request client/${this.clientId}>${node.name}`,
        node.state === 'crashed' ? arrive : node.gate.guard(arrive),
      );
    });
  }

  /** See {@link ClientContext.sleep}. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.environment.simulation.schedule(ms, `sleep client/${this.clientId}`, resolve);
    });
  }

  private latency(): number {
    return Math.max(0, this.environment.latency(this.networkRandom));
  }
}
