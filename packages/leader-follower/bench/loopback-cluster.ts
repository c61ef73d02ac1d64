// A 3-process loopback cluster of bench/replication-node.ts, driven over IPC: used by the
// loopback benchmark and by the before/after runner (which starts two, one per build).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../tools/net/free-port.js';

/** What a load of closed-loop proposers on the leader measured. */
export interface LoadResult {
  concurrency: number;
  committed: number;
  failures: number;
  entriesPerSecond: number;
  latencyMs: Record<string, number>;
}

interface Answer {
  kind: string;
  role?: string;
  result?: unknown;
}

function request(child: ChildProcess, message: object, reply: string): Promise<Answer> {
  return new Promise((resolve) => {
    const listener = (answer: Answer): void => {
      if (answer.kind !== reply) return;
      child.off('message', listener);
      resolve(answer);
    };
    child.on('message', listener);
    child.send(message);
  });
}

/** Linux's USER_HZ: the unit of the CPU times in /proc/<pid>/stat (100 on every architecture). */
const USER_HZ = 100;

/** CPU seconds (user + system) process `pid` has used, from /proc; undefined off Linux. */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** Three server processes of one build on loopback, each with its own data directory. */
export class LoopbackCluster {
  private constructor(
    private readonly children: Map<string, ChildProcess>,
    private readonly leader: ChildProcess,
    private readonly root: string,
  ) {}

  /**
   * Forks `script` (a built `replication-node.js`) three times and waits for a leader.
   * @param profileDirectory writes a CPU profile per process there (`--cpu-prof`).
   */
  static async start(script: string, profileDirectory?: string): Promise<LoopbackCluster> {
    const names = ['n1', 'n2', 'n3'];
    const ports: Record<string, number> = {};
    for (const name of names) ports[name] = await freePort();
    const root = mkdtempSync(join(tmpdir(), 'lf-bench-'));
    const children = new Map<string, ChildProcess>();
    await Promise.all(
      names.map(
        (name) =>
          new Promise<void>((resolve) => {
            const child = fork(script, [name, join(root, name), JSON.stringify(ports)], {
              execArgv:
                profileDirectory === undefined
                  ? []
                  : ['--cpu-prof', '--cpu-prof-dir', profileDirectory],
            });
            children.set(name, child);
            child.once('message', () => resolve());
          }),
      ),
    );
    let leader: ChildProcess | undefined;
    while (leader === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const child of children.values()) {
        const status = await request(child, { kind: 'status' }, 'status');
        if (status.role === 'leader') leader = child;
      }
    }
    return new LoopbackCluster(children, leader, root);
  }

  /** Runs `concurrency` closed-loop proposers of `entryBytes`-byte entries for `durationMs`. */
  async load(concurrency: number, durationMs: number, entryBytes = 100): Promise<LoadResult> {
    const answer = await request(
      this.leader,
      { kind: 'load', concurrency, durationMs, entryBytes },
      'result',
    );
    return answer.result as LoadResult;
  }

  /**
   * CPU seconds the three processes have used so far (user + system; Linux only, else
   * undefined). Unlike throughput on a shared machine, the CPU a build spends per entry hardly
   * depends on what else runs.
   */
  cpuSeconds(): number | undefined {
    let total = 0;
    for (const child of this.children.values()) {
      const seconds = processCpuSeconds(child.pid);
      if (seconds === undefined) return undefined;
      total += seconds;
    }
    return total;
  }

  /** Stops every process and deletes the data directories. */
  async stop(): Promise<void> {
    for (const child of this.children.values()) child.send({ kind: 'stop' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    rmSync(this.root, { recursive: true, force: true });
  }
}
