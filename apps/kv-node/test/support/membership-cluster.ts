/**
 * A cluster whose membership changes while it runs, for the operations runbooks: members are
 * planned one at a time on free loopback ports and started with exactly the flags an operator
 * would use. The same plan starts kv-node or, as the oracle for the commands, a real etcd 3.4
 * (kv-node takes etcd's flag names; only the peer secret is kv-node's own).
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { freePort } from './process-cluster.js';

/** Which server the members run: kv-node, or etcd 3.4 as the oracle. */
export type MemberEngine = 'kv-node' | 'etcd';

/** One planned member; `process` is set while it runs. */
export interface PlannedMember {
  readonly name: string;
  readonly clientUrl: string;
  peerUrl: string;
  /**
   * The peer URL it first started with (`--initial-advertise-peer-urls`, read only when a member
   * first starts: a moved member keeps passing it, and listens at `peerUrl`).
   */
  joinedPeerUrl: string | undefined;
  dataDir: string;
  process: ChildProcess | undefined;
  /** The last output lines (stdout and stderr together). */
  readonly output: string[];
}

/** How to start a member: a new cluster, or joining one (`existing`). */
export interface StartOptions {
  /** `--initial-cluster` and `--initial-cluster-state`, as flags; leave out to pass them in `env`. */
  readonly initialCluster?: { readonly value: string; readonly state: 'new' | 'existing' };
  /** More environment variables, for example the `ETCD_*` lines `etcdctl member add` prints. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Members that can be planned, started, stopped and wiped while the test runs. */
export class MembershipCluster {
  readonly engine: MemberEngine;
  readonly root: string;
  readonly members = new Map<string, PlannedMember>();
  readonly #command: readonly string[];
  readonly #engineArgs: readonly string[];

  private constructor(engine: MemberEngine, root: string, command: string[], engineArgs: string[]) {
    this.engine = engine;
    this.root = root;
    this.#command = command;
    this.#engineArgs = engineArgs;
  }

  /**
   * A cluster with no members yet under a new temporary directory. `kvNodeCli` is the bundled
   * kv-node CLI (unused for etcd); `snapshotCount` is `--snapshot-count`.
   */
  static async create(
    engine: MemberEngine,
    kvNodeCli: string,
    snapshotCount: number,
  ): Promise<MembershipCluster> {
    const root = await mkdtemp(`${tmpdir()}/kv-membership-`);
    const timing = ['--heartbeat-interval', '50', '--election-timeout', '500'];
    const snapshots = ['--snapshot-count', String(snapshotCount)];
    if (engine === 'etcd') {
      return new MembershipCluster(
        engine,
        root,
        ['etcd'],
        [...timing, ...snapshots, '--logger', 'zap', '--log-level', 'warn'],
      );
    }
    const peerSecretFile = `${root}/peer-secret`;
    await writeFile(peerSecretFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    return new MembershipCluster(
      engine,
      root,
      [process.execPath, kvNodeCli],
      [...timing, ...snapshots, '--log-level', 'warn', '--peer-secret-file', peerSecretFile],
    );
  }

  /** Plans a member on free ports with a data directory of its own (not started). */
  async plan(name: string): Promise<PlannedMember> {
    const member: PlannedMember = {
      name,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      joinedPeerUrl: undefined,
      dataDir: `${this.root}/${name}`,
      process: undefined,
      output: [],
    };
    this.members.set(name, member);
    return member;
  }

  /** A new free peer URL for `member` (not yet used: see `start`). */
  async movePeerUrl(member: PlannedMember): Promise<string> {
    member.peerUrl = `http://127.0.0.1:${await freePort()}`;
    return member.peerUrl;
  }

  /** A new, empty data directory for `member`: what a replacement disk gives it. */
  freshDataDir(member: PlannedMember, label: string): void {
    member.dataDir = `${this.root}/${member.name}-${label}`;
    member.joinedPeerUrl = undefined;
  }

  /** Starts `member` with its planned URLs and data directory. */
  start(member: PlannedMember, options: StartOptions): ChildProcess {
    const args = [
      ...this.#command.slice(1),
      '--data-dir',
      member.dataDir,
      '--listen-client-urls',
      member.clientUrl,
      '--advertise-client-urls',
      member.clientUrl,
      '--listen-peer-urls',
      member.peerUrl,
      '--initial-cluster-token',
      'runbook-cluster',
      ...this.#engineArgs,
    ];
    // Settings given as ETCD_* variables must not be given as flags too (etcd and kv-node refuse).
    const env = options.env ?? {};
    if (env.ETCD_NAME === undefined) args.push('--name', member.name);
    member.joinedPeerUrl ??= env.ETCD_INITIAL_ADVERTISE_PEER_URLS ?? member.peerUrl;
    if (env.ETCD_INITIAL_ADVERTISE_PEER_URLS === undefined) {
      args.push('--initial-advertise-peer-urls', member.joinedPeerUrl);
    }
    if (options.initialCluster !== undefined) {
      args.push('--initial-cluster', options.initialCluster.value);
      args.push('--initial-cluster-state', options.initialCluster.state);
    }
    const child = spawn(this.#command[0] as string, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    member.output.length = 0;
    const keep = (chunk: Buffer): void => {
      member.output.push(chunk.toString());
      if (member.output.length > 200) member.output.shift();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    member.process = child;
    return child;
  }

  /** Whether `member`'s process runs. */
  static running(member: PlannedMember): boolean {
    const child = member.process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Sends `signal` to the member's process by pid and waits for it to exit. */
  async stop(member: PlannedMember, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = member.process;
    if (child === undefined || !MembershipCluster.running(member)) return;
    const exited = exitOf(child);
    if (child.pid !== undefined) process.kill(child.pid, signal);
    await exited;
  }

  /** Kills every member's process and removes the data. */
  async destroy(): Promise<void> {
    await Promise.all([...this.members.values()].map((member) => this.stop(member)));
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Resolves with the exit code (or signal) once `child` has exited. */
export function exitOf(child: ChildProcess): Promise<number | NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode ?? child.signalCode);
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
}
