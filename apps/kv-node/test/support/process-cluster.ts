/**
 * Real kv-node processes for integration tests: builds the CLI once (bundling the workspace
 * packages from source), starts members on free loopback ports, and kills every process by pid.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const appRoot = fileURLToPath(new URL('../..', import.meta.url));

// npm dependencies stay external (pino is CommonJS and cannot be bundled into ESM). Named here
// rather than left to tsup, which reads package.json from the working directory: vitest may run
// from the repository root, whose package.json has none of them.
const npmDependencies = Object.keys(
  (JSON.parse(readFileSync(`${appRoot}/package.json`, 'utf8')) as { dependencies: object })
    .dependencies,
).filter((name) => !name.startsWith('@x/'));

/** Builds `src/cli.ts` into `outDir/cli.js`, with the `@x/*` packages bundled from source. */
export async function buildCli(outDir: string): Promise<string> {
  await build({
    entry: { cli: `${appRoot}/src/cli.ts` },
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node22',
    dts: false,
    sourcemap: false,
    silent: true,
    config: false,
    noExternal: [/^@x\//],
    external: npmDependencies,
    esbuildOptions(options) {
      options.conditions = ['@x/source', 'import', 'node'];
    },
  });
  // etcd's .proto files are read at run time from `proto/` beside the bundle, as in dist/.
  await cp(`${appRoot}/src/grpc/proto`, `${outDir}/proto`, { recursive: true });
  return `${outDir}/cli.js`;
}

/** A free TCP port on 127.0.0.1 (free when checked). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
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
    const ports: number[] = [];
    for (let index = 0; index < size * 2; index++) ports.push(await freePort());
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
          const response = await fetch(`${member.clientUrl}/readyz`);
          await response.arrayBuffer();
          if (response.ok) break;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) {
          throw new Error(`${member.name} not ready; output:\n${member.output.join('')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** The member that currently leads (asks each live member). */
  async leader(): Promise<ProcessMember> {
    for (let attempt = 0; attempt < 100; attempt++) {
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
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('no leader');
  }
}
