/**
 * Real kv-node processes for integration tests: the CLI bundled once per run (the workspace
 * packages from source), members on free loopback ports, and every process killed by pid.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { inject } from 'vitest';
import { freePort, freePorts } from '../../../../tools/net/free-port.js';

// The repository's one free-port helper (tools/net), re-exported for the tests that plan members.
export { freePort, freePorts };

/**
 * The CLI bundled once for this test run by the project's global setup
 * (`cli-bundle.global-setup.ts`, in apps/kv-node/vitest.config.ts). Every member of every file
 * runs this one file; nothing writes beside it.
 *
 * @throws if the run has no such setup (a vitest config other than the app's)
 */
export function sharedCliPath(): string {
  const directory = inject('kvNodeCliDirectory') as string | undefined;
  if (directory === undefined) {
    throw new Error('no kvNodeCliDirectory: run the tests with apps/kv-node/vitest.config.ts');
  }
  return `${directory}/cli.js`;
}

/**
 * Puts the CLI in `outDir/cli.js` (with `proto/` beside it): a copy of the bundle this run shares
 * (see {@link sharedCliPath}), so a file that adds files beside the CLI or removes `outDir`
 * afterwards does so on its own copy. `outDir` must be inside the app, where the bundle resolves
 * its npm dependencies.
 */
export async function buildCli(outDir: string): Promise<string> {
  await cp(dirname(sharedCliPath()), outDir, { recursive: true });
  return `${outDir}/cli.js`;
}

/** One member process. */
export interface ProcessMember {
  name: string;
  clientUrl: string;
  peerPort: number;
  dataDir: string;
  args: string[];
  process: ChildProcess | undefined;
  output: string[];
}

/** A cluster of member processes. */
export class ProcessCluster {
  readonly members: ProcessMember[];
  readonly root: string;
  readonly #cliPath: string;

  private constructor(cliPath: string, root: string, members: ProcessMember[]) {
    this.#cliPath = cliPath;
    this.root = root;
    this.members = members;
  }

  /** Plans `size` members on free ports under a new temporary directory (not started). */
  static async create(
    cliPath: string,
    size: number,
    extraArgs: string[] = [],
  ): Promise<ProcessCluster> {
    const root = await mkdtemp(`${tmpdir()}/kv-cluster-`);
    // Members of a cluster share a random peer secret (kv-node never derives one).
    const peerSecretFile = `${root}/peer-secret`;
    await writeFile(peerSecretFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const ports = await freePorts(size * 2);
    const planned = Array.from({ length: size }, (_, index) => ({
      name: `m${index + 1}`,
      clientPort: ports[2 * index] as number,
      peerPort: ports[2 * index + 1] as number,
    }));
    const initialCluster = planned
      .map((member) => `${member.name}=http://127.0.0.1:${member.peerPort}`)
      .join(',');
    const members = planned.map((member) => ({
      name: member.name,
      clientUrl: `http://127.0.0.1:${member.clientPort}`,
      peerPort: member.peerPort,
      dataDir: `${root}/${member.name}`,
      args: [
        '--name',
        member.name,
        '--data-dir',
        `${root}/${member.name}`,
        '--listen-client-urls',
        `http://127.0.0.1:${member.clientPort}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${member.peerPort}`,
        '--initial-cluster',
        initialCluster,
        '--heartbeat-interval',
        '50',
        '--election-timeout',
        '500',
        '--log-level',
        'warn',
        '--peer-secret-file',
        peerSecretFile,
        ...extraArgs,
      ],
      process: undefined,
      output: [],
    }));
    return new ProcessCluster(cliPath, root, members);
  }

  /**
   * Starts a member's process (again, after a kill). `env` replaces the environment (default:
   * this process's); `args` replaces the member's planned flags (default: `member.args`).
   */
  start(
    member: ProcessMember,
    extraArgs: string[] = [],
    options: { env?: NodeJS.ProcessEnv; args?: string[] } = {},
  ): ChildProcess {
    const args = options.args ?? member.args;
    const child = spawn(process.execPath, [this.#cliPath, ...args, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    const keep = (chunk: Buffer): void => {
      member.output.push(chunk.toString());
      if (member.output.length > 200) member.output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    member.process = child;
    return child;
  }

  startAll(): void {
    for (const member of this.members) this.start(member);
  }

  /** Sends `signal` to the member's process (by pid) and waits for it to exit. */
  async kill(member: ProcessMember, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = member.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.pid !== undefined) process.kill(child.pid, signal);
    await exited;
  }

  /** Kills every process and removes the data. */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map((member) => this.kill(member)));
    await rm(this.root, { recursive: true, force: true });
  }

  /** Waits until every listed member answers /readyz with 200. */
  async waitReady(members: ProcessMember[] = this.members, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const member of members) {
      for (;;) {
        try {
          // Bounded: whatever holds the port may never answer.
          const response = await fetch(`${member.clientUrl}/readyz`, {
            signal: AbortSignal.timeout(5_000),
          });
          await response.arrayBuffer();
          if (response.ok) break;
        } catch {
          // not listening yet, or no answer in time
        }
        const child = member.process;
        const exited =
          child !== undefined && (child.exitCode !== null || child.signalCode !== null);
        if (exited || Date.now() > deadline) {
          const why = exited ? `exited (${child.exitCode ?? child.signalCode})` : 'not ready';
          throw new Error(`${member.name} ${why}; output:\n${member.output.join('')}`);
        }
        // A short poll: a member is usually ready within a few hundred ms of its leader.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /** The member that currently leads (asks each live member). */
  async leader(): Promise<ProcessMember> {
    // 500 rounds 20 ms apart: the same 10 s of waiting as 100 rounds 100 ms apart, noticed sooner.
    for (let attempt = 0; attempt < 500; attempt++) {
      for (const member of this.members) {
        const child = member.process;
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) continue;
        try {
          const status = (await (await fetch(`${member.clientUrl}/v1/cluster`)).json()) as {
            role: string;
          };
          if (status.role === 'leader') return member;
        } catch {
          // down
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('no leader');
  }
}
