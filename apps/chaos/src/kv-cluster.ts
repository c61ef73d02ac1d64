import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** One kv-node member as the cluster starts it. */
export interface KvNodeSpec {
  readonly index: number;
  readonly name: string;
  readonly clientUrl: string;
  /** Where the process listens for peers (the proxy forwards here). */
  readonly listenPeerUrl: string;
  /** This member's `--initial-advertise-peer-urls` (proxy addresses, or the listen URL). */
  readonly advertisedPeerUrls: readonly string[];
  /**
   * This member's `--initial-cluster`. Every member must list the same URLs per member (member
   * ids are hashed from them, sorted), but the order may differ: a member dials a peer's first
   * URL, which is how each member is given its own proxy listener per directed link.
   */
  readonly initialCluster: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** Flags this member gets in addition to the common ones. */
  readonly extraArgs: readonly string[];
}

/** Options of {@link KvCluster}. */
export interface KvClusterOptions {
  /** Path of kv-node's built CLI (`apps/kv-node/dist/cli.js`). */
  readonly cliPath: string;
  readonly nodes: readonly KvNodeSpec[];
  readonly clusterToken: string;
  /** Flags for every member (e.g. timeouts, an unsafe test-only option). */
  readonly commonArgs: readonly string[];
}

const everySpawnedGroup = new Set<number>();

/**
 * Sends SIGKILL to the process group of every kv-node started by this process and not yet
 * reaped. Synchronous, so it is safe in an `exit` handler.
 */
export function killEverySpawnedNode(): void {
  for (const pid of everySpawnedGroup) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  everySpawnedGroup.clear();
}

/**
 * The environment of a node: ours without `KV_NODE_*` and `ETCD_*` variables (kv-node reads every
 * flag from them, so a stray one would change or break its configuration); with `wallClock`,
 * libfaketime preloaded to shift (and speed up or slow down) its wall clock.
 *
 * Monotonic clocks stay exempt from faketime (`FAKETIME_DONT_FAKE_MONOTONIC=1`). kv-node times
 * every timeout on the monotonic clock, and so do libuv's timers under Node's event loop; faking
 * CLOCK_MONOTONIC at another rate would stretch or shrink every timer, which is a different fault
 * (a slow or fast machine) from the one tested here: a wrong wall clock, which a correct node must
 * shrug off.
 */
function nodeEnvironment(wallClock: WallClockFault | undefined): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // The members' settings are the flags planned here: kv-node's variables and etcd's (which
    // kv-node reads as etcd does) from the shell would change or conflict with them.
    if (!name.startsWith('KV_NODE_') && !name.startsWith('ETCD_')) environment[name] = value;
  }
  if (wallClock !== undefined) {
    const library = libfaketimePath();
    if (library === undefined) throw new Error('libfaketime is not installed');
    environment.LD_PRELOAD = library;
    environment.FAKETIME = faketimeSpec(wallClock.offsetMs, wallClock.rate);
    environment.FAKETIME_DONT_FAKE_MONOTONIC = '1';
  }
  return environment;
}

/**
 * Where Debian's `faketime` package puts libfaketime (the thread-safe build first: Node calls the
 * clock from several threads), or undefined if it is not installed. The library is preloaded
 * into the node directly rather than through the `faketime` wrapper, which forks: the node would
 * be its grandchild, still holding its data directory's lock for a moment after the wrapper has
 * exited, so a restart right after a kill would find the directory locked.
 */
export function libfaketimePath(): string | undefined {
  const folders = [
    `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/faketime`,
    '/usr/lib/faketime',
    '/usr/local/lib/faketime',
  ];
  for (const folder of folders) {
    for (const file of ['libfaketimeMT.so.1', 'libfaketime.so.1']) {
      if (existsSync(join(folder, file))) return join(folder, file);
    }
  }
  return undefined;
}

/**
 * Whether wall-clock faults can run here: libfaketime is installed and, preloaded into Node with
 * a 100 s offset, does shift `Date.now()`.
 */
export function faketimeAvailable(): boolean {
  if (libfaketimePath() === undefined) return false;
  try {
    const before = Date.now();
    const output = execFileSync(
      process.execPath,
      ['-e', 'process.stdout.write(String(Date.now()))'],
      {
        env: nodeEnvironment({ offsetMs: 100_000 }),
        encoding: 'utf8',
        timeout: 10_000,
      },
    );
    return Number(output) - before > 50_000;
  } catch {
    return false;
  }
}

/**
 * A faketime spec for a wall clock `offsetMs` milliseconds off (`+30s`, `-2.5s`) and, unless
 * `rate` is 1, running `rate` times as fast as real time (`+30s x2`).
 */
export function faketimeSpec(offsetMs: number, rate = 1): string {
  const offset = `${offsetMs >= 0 ? '+' : '-'}${Math.abs(offsetMs) / 1000}s`;
  return rate === 1 ? offset : `${offset} x${rate}`;
}

/** A wall-clock fault for one node: see {@link faketimeSpec}. */
export interface WallClockFault {
  readonly offsetMs: number;
  /** Speed relative to real time (default 1). */
  readonly rate?: number;
}

/**
 * Starts, kills, pauses and restarts kv-node processes through kv-node's CLI. Each process runs
 * in its own process group (so a kill takes any children with it); its stdout and stderr are
 * appended to its log file.
 */
export class KvCluster {
  private readonly processes = new Map<number, ChildProcess>();
  private readonly exits = new Map<number, Promise<void>>();
  private readonly paused = new Set<number>();
  /** Unexpected exits (not caused by {@link KvCluster.kill}), for the result. */
  readonly unexpectedExits: { node: string; code: number | null; signal: string | null }[] = [];
  private readonly expectedExit = new Set<number>();
  /** Nodes added to the running cluster as new members: they start with state `existing`. */
  private readonly joining = new Set<number>();
  /** A node added to the running cluster: its `--initial-cluster`, in place of its spec's. */
  private readonly joinedClusters = new Map<number, string>();

  constructor(private readonly options: KvClusterOptions) {}

  get nodes(): readonly KvNodeSpec[] {
    return this.options.nodes;
  }

  /** The flags node `index` is started with. */
  argumentsOf(index: number): string[] {
    const node = this.spec(index);
    return [
      '--name',
      node.name,
      '--data-dir',
      node.dataDir,
      '--listen-client-urls',
      node.clientUrl,
      '--advertise-client-urls',
      node.clientUrl,
      '--listen-peer-urls',
      node.listenPeerUrl,
      '--initial-advertise-peer-urls',
      node.advertisedPeerUrls.join(','),
      '--initial-cluster',
      this.joinedClusters.get(index) ?? node.initialCluster,
      '--initial-cluster-token',
      this.options.clusterToken,
      '--initial-cluster-state',
      this.joining.has(index) ? 'existing' : 'new',
      ...this.options.commonArgs,
      ...node.extraArgs,
    ];
  }

  /**
   * Starts node `index` (again). With `wallClock`, under libfaketime with its wall clock shifted
   * (and sped up or slowed down) that way; monotonic clocks untouched.
   * @throws Error if it is already running.
   */
  start(index: number, options: { wallClock?: WallClockFault } = {}): void {
    if (this.processes.has(index)) throw new Error(`node ${this.spec(index).name} is running`);
    const node = this.spec(index);
    mkdirSync(node.dataDir, { recursive: true });
    mkdirSync(dirname(node.logFile), { recursive: true });
    const wallClock = options.wallClock;
    const environment = nodeEnvironment(wallClock);
    const log = openSync(node.logFile, 'a');
    const spec =
      wallClock === undefined ? undefined : faketimeSpec(wallClock.offsetMs, wallClock.rate);
    writeSync(
      log,
      `\n=== chaos: starting ${node.name}${spec === undefined ? '' : ` under faketime ${spec}`}\n`,
    );
    const child = spawn(process.execPath, [this.options.cliPath, ...this.argumentsOf(index)], {
      detached: true,
      stdio: ['ignore', log, log],
      env: environment,
    });
    closeSync(log);
    const pid = child.pid;
    if (pid !== undefined) everySpawnedGroup.add(pid);
    this.processes.set(index, child);
    this.exits.set(
      index,
      new Promise<void>((resolve) => {
        const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
          if (pid !== undefined) everySpawnedGroup.delete(pid);
          if (this.processes.get(index) === child) this.processes.delete(index);
          this.paused.delete(index);
          if (!this.expectedExit.delete(index)) {
            this.unexpectedExits.push({ node: node.name, code, signal });
          }
          resolve();
        };
        child.once('exit', onExit);
        child.once('error', () => onExit(null, null));
      }),
    );
  }

  /**
   * Node `index` has been added to the running cluster as a new member (its old data wiped, see
   * {@link KvCluster.wipeData}): from now on it starts with `--initial-cluster-state existing`.
   */
  joinExisting(index: number): void {
    this.joining.add(index);
  }

  /**
   * Node `index` was added to the running cluster (again) as a new member: it starts with
   * `initialCluster` (the members it asks for its member id and the cluster id) from now on.
   */
  rejoin(index: number, initialCluster: string): void {
    this.joinedClusters.set(index, initialCluster);
  }

  /**
   * Deletes node `index`'s data directory, as a dead disk would.
   * @throws Error if the node is running.
   */
  wipeData(index: number): void {
    if (this.processes.has(index)) throw new Error(`node ${this.spec(index).name} is running`);
    rmSync(this.spec(index).dataDir, { recursive: true, force: true });
  }

  /** Whether node `index` has a live process. */
  isRunning(index: number): boolean {
    return this.processes.has(index);
  }

  /** Whether node `index` is stopped with SIGSTOP. */
  isPaused(index: number): boolean {
    return this.paused.has(index);
  }

  /** SIGKILLs node `index`'s process group and resolves once it has exited. */
  async kill(index: number): Promise<void> {
    const child = this.processes.get(index);
    if (child?.pid === undefined) return;
    this.expectedExit.add(index);
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already exiting.
    }
    await this.exits.get(index);
  }

  /**
   * Declares that node `index` is about to exit by itself because of a fault (e.g. its disk
   * fills and it fail-stops), so its exit is not reported in {@link KvCluster.unexpectedExits}.
   */
  expectExit(index: number): void {
    if (this.processes.has(index)) this.expectedExit.add(index);
  }

  /**
   * Resolves true once node `index` has exited, or false if it still runs after `timeoutMs`
   * milliseconds (or `signal` aborts).
   */
  async waitForExit(index: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const exit = this.exits.get(index);
    if (exit === undefined || !this.processes.has(index)) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      signal?.addEventListener('abort', () => resolve(false), { once: true });
    });
    try {
      return await Promise.race([exit.then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGSTOPs node `index` (a process pause, like a long GC or a stopped VM). */
  pause(index: number): void {
    const child = this.processes.get(index);
    if (child?.pid === undefined) return;
    process.kill(-child.pid, 'SIGSTOP');
    this.paused.add(index);
  }

  /** SIGCONTs node `index` if it is paused. */
  resume(index: number): void {
    const child = this.processes.get(index);
    if (child?.pid === undefined || !this.paused.has(index)) return;
    process.kill(-child.pid, 'SIGCONT');
    this.paused.delete(index);
  }

  /** Kills every node (paused ones too) and waits until all have exited. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.processes.keys()].map((index) => this.kill(index)));
  }

  private spec(index: number): KvNodeSpec {
    const node = this.options.nodes[index];
    if (node === undefined) throw new RangeError(`no node ${index}`);
    return node;
  }
}

/** The conventional data and log paths of node `name` under a run's folder. */
export function nodePaths(
  runDirectory: string,
  name: string,
): { dataDir: string; logFile: string } {
  return {
    dataDir: join(runDirectory, 'data', name),
    logFile: join(runDirectory, 'logs', `${name}.log`),
  };
}
