import { FaultFileSystem } from '@x/wal/testing';
import type { DiskLatency } from './disk-latency.js';
import type { FileSystem, Logger, Transport } from './ports.js';
import { ProcessFileSystem } from './process-file-system.js';
import { ProcessGate, type ProcessState } from './process-gate.js';
import { ProcessLogger, type LogSink } from './process-logger.js';
import type { SeededRandom } from './seeded-random.js';
import {
  SimulatedClock,
  SimulatedWallClock,
  type SimulatedClockOptions,
} from './simulated-clock.js';
import type { SimulatedNetwork } from './simulated-network.js';
import { SimulatedTimers } from './simulated-timers.js';
import type { Simulation } from './simulation.js';
import { asError, describeError as describe } from './describe-error.js';

/**
 * Everything a node factory receives: the node's identity and its ports, all on virtual time.
 * Build the system under test only from these (never from real clocks, timers, files or sockets).
 */
export interface NodePorts {
  /** This node's name, e.g. `athens`. */
  readonly name: string;
  /** The other nodes' names, in cluster order. */
  readonly peers: readonly string[];
  /** 0 for the first start, then one more after every crash. */
  readonly incarnation: number;
  /** This node's monotonic clock (offset and drift differ per node). */
  readonly clock: SimulatedClock;
  /** This node's wall clock (epoch ms); may jump backwards. Only for what people read (dates). */
  readonly wallClock: SimulatedWallClock;
  /** Timers on this node's clock; they stop at a crash and are held during a pause. */
  readonly timers: SimulatedTimers;
  /** This node's own random stream (`node/<name>`), e.g. for election jitter. */
  readonly random: SeededRandom;
  /** This node's disk; survives crashes as far as it was fsynced. */
  readonly fs: FileSystem;
  /** This node's network endpoint. */
  readonly transport: Transport;
  /** Forwards to the cluster's log sink, stamped with node name and virtual time. */
  readonly logger: Logger;
  /**
   * Fail-stop: the process exits now (as `process.exit` after an fsync error). The harness treats it
   * as a crash without power loss: the page cache survives. Safe to call more than once.
   */
  halt(reason?: unknown): void;
}

/** Builds one incarnation of the system under test from its ports; may be async (open the log). */
export type NodeFactory<TNode> = (ports: NodePorts) => TNode | Promise<TNode>;

/** Options of {@link SimulatedNode.crash}. */
export interface CrashOptions {
  /**
   * true (default): the machine loses power: the disk keeps only what was fsynced, plus a random
   * subset of later writes, possibly torn. false: only the process dies (kill -9); the OS keeps
   * everything written.
   */
  powerLoss?: boolean;
}

/** @internal What a node needs from the cluster that owns it. */
export interface NodeEnvironment<TNode> {
  readonly simulation: Simulation;
  readonly network: SimulatedNetwork;
  readonly factory: NodeFactory<TNode>;
  readonly allNames: readonly string[];
  readonly diskLatency: DiskLatency;
  readonly sectorSize: number;
  readonly logSink: LogSink | undefined;
  readonly startFailure: 'fail' | 'crash';
  readonly onCrash: (node: SimulatedNode<TNode>, reason: string) => void;
}

/**
 * One named process of a simulated cluster: its clock and disk outlive crashes; its memory (the
 * instance the factory built), timers and connections do not.
 */
export class SimulatedNode<TNode> {
  /** The node's monotonic clock; use {@link jumpClock} or `clock.setDrift` to disturb it. */
  readonly clock: SimulatedClock;
  /** The node's wall clock; use {@link jumpWallClock} to disturb it. */
  readonly wallClock: SimulatedWallClock;
  /** The node's disk (from `@x/wal/testing`): inject I/O errors, corrupt bytes, inspect files. */
  readonly disk: FaultFileSystem;
  /** The gate all callbacks into this node pass through. */
  readonly gate: ProcessGate;

  private current: TNode | undefined;
  private timers: SimulatedTimers | undefined;
  private fileSystem: ProcessFileSystem | undefined;
  private diskFreeAt = 0;
  private readonly diskRandom: SeededRandom;
  private readonly diskLabel: string;

  /** @internal Created by the `Cluster`; not started until the cluster starts it. */
  constructor(
    /** The node's name. */
    readonly name: string,
    private readonly environment: NodeEnvironment<TNode>,
    clockOptions: SimulatedClockOptions,
    wallClockEpochMs: number,
  ) {
    const simulation = environment.simulation;
    this.gate = new ProcessGate(simulation, name);
    this.clock = new SimulatedClock(simulation, clockOptions);
    this.wallClock = new SimulatedWallClock(simulation, wallClockEpochMs);
    this.diskRandom = simulation.random.stream(`disk/${name}`);
    this.diskLabel = `disk ${name}`;
    this.disk = new FaultFileSystem({
      random: simulation.random.stream(`power-loss/${name}`),
      sectorSize: environment.sectorSize,
      delay: (operation) => this.diskDelay(operation),
    });
    environment.network.addNode(name);
  }

  /** `starting` (factory running), `running`, `paused` or `crashed`. */
  get state(): ProcessState {
    return this.gate.state;
  }

  /** 0 for the first start, then one more after every crash. */
  get incarnation(): number {
    return this.gate.incarnation;
  }

  /** The instance the factory built for the current incarnation; undefined while starting or crashed. */
  get instance(): TNode | undefined {
    return this.current;
  }

  /** The instance, or a thrown Error naming the node and its state when there is none. */
  get requireInstance(): TNode {
    if (this.current === undefined) throw new Error(`${this.name} is ${this.state}: no instance`);
    return this.current;
  }

  /** Timers of the current incarnation not yet fired (0 when crashed). */
  get pendingTimers(): number {
    return this.timers?.pendingCount ?? 0;
  }

  /**
   * Kills the process now: its instance, timers, held callbacks and in-flight requests are gone,
   * and messages on their way to it are lost. Does nothing if already crashed.
   */
  crash(options: CrashOptions = {}): void {
    this.kill(options.powerLoss ?? true, 'crash');
  }

  /**
   * Starts a new incarnation from what is on disk (the factory runs as the next event).
   * @throws Error unless the node is crashed.
   */
  restart(): void {
    if (this.state !== 'crashed')
      throw new Error(`cannot restart ${this.name}: it is ${this.state}`);
    this.gate.markStarting();
    this.scheduleStart();
  }

  /** Freezes the process (SIGSTOP): timers, deliveries and disk completions wait. Its clock keeps going. */
  pause(): void {
    if (this.state === 'crashed') return;
    this.gate.pause();
    this.environment.simulation.trace.addString(`pause ${this.name}`);
  }

  /** Unfreezes the process (SIGCONT): everything that waited runs now, as a burst. */
  resume(): void {
    this.gate.resume();
    this.environment.simulation.trace.addString(`resume ${this.name}`);
  }

  /** Jumps the node's monotonic clock forward by `ms`; timers now due fire. Throws RangeError if negative. */
  jumpClock(ms: number): void {
    this.clock.jump(ms);
    this.environment.simulation.trace.addString(`jump ${this.name}`);
  }

  /** Moves the node's wall clock by `ms`, forwards or backwards (an NTP step, an operator). */
  jumpWallClock(ms: number): void {
    this.wallClock.jump(ms);
    this.environment.simulation.trace.addString(`wall-jump ${this.name}`);
  }

  /** @internal Schedules the first start. */
  scheduleStart(): void {
    const simulation = this.environment.simulation;
    simulation.schedule(
      0,
      `start ${this.name}`,
      this.gate.guard(() => this.start()),
    );
  }

  private start(): void {
    const environment = this.environment;
    const simulation = environment.simulation;
    const gate = this.gate;
    const incarnation = gate.incarnation;
    if (gate.state === 'crashed') return;
    this.timers = new SimulatedTimers(simulation, this.clock, gate);
    this.fileSystem = new ProcessFileSystem(this.disk, gate, incarnation);
    const ports: NodePorts = {
      name: this.name,
      peers: environment.allNames.filter((name) => name !== this.name),
      incarnation,
      clock: this.clock,
      wallClock: this.wallClock,
      timers: this.timers,
      random: simulation.random.stream(`node/${this.name}`),
      fs: this.fileSystem,
      transport: environment.network.connect(this.name, gate),
      logger: new ProcessLogger(this.name, simulation, environment.logSink, () =>
        gate.isCurrent(incarnation),
      ),
      halt: (reason?: unknown) => {
        if (gate.isCurrent(incarnation)) this.kill(false, `halt: ${describe(reason)}`);
      },
    };
    let built: Promise<TNode>;
    try {
      built = Promise.resolve(environment.factory(ports));
    } catch (error) {
      built = Promise.reject(asError(error));
    }
    built.then(
      (instance) => {
        if (!gate.isCurrent(incarnation)) return;
        this.current = instance;
        gate.markRunning();
        simulation.trace.addString(`started ${this.name}`);
      },
      (error: unknown) => {
        if (!gate.isCurrent(incarnation)) return;
        if (environment.startFailure === 'fail') {
          simulation.fail(
            new Error(
              `${this.name} failed to start (incarnation ${incarnation}): ${describe(error)}`,
              {
                cause: error,
              },
            ),
          );
        } else {
          this.kill(false, `start failed: ${describe(error)}`);
        }
      },
    );
  }

  private kill(powerLoss: boolean, reason: string): void {
    if (this.state === 'crashed') return;
    const simulation = this.environment.simulation;
    this.gate.crash();
    this.current = undefined;
    this.timers?.dispose();
    this.timers = undefined;
    const fileSystem = this.fileSystem;
    this.fileSystem = undefined;
    // The kernel releases a dead process's locks; a power loss wipes them anyway.
    fileSystem?.releaseLocks();
    if (powerLoss) this.disk.crash();
    this.diskFreeAt = simulation.now;
    simulation.trace.addString(`crash ${this.name} ${powerLoss ? 'power-loss' : 'process'}`);
    this.environment.onCrash(this, reason);
  }

  // Disk operations take virtual time and complete in submission order (one queue per disk).
  private diskDelay(operation: Parameters<DiskLatency>[0]): Promise<void> {
    const simulation = this.environment.simulation;
    const latency = Math.max(0, this.environment.diskLatency(operation, this.diskRandom));
    const done = Math.max(simulation.now + latency, this.diskFreeAt);
    this.diskFreeAt = done;
    return new Promise<void>((resolve) => {
      simulation.scheduleAt(done, this.diskLabel, this.gate.guard(resolve));
    });
  }
}
