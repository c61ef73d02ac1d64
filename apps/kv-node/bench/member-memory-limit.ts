/**
 * Runs a bench member under a memory limit of its own, as a container's or a systemd unit's
 * limit does (`MEMBER_MEMORY_LIMIT_MB`): a Linux memory cgroup per member, made beside this
 * process's own, with the member's pid moved in as soon as it is spawned (before it has touched
 * its data, so what it faults in is charged there). The kernel then keeps the member's anonymous
 * memory plus the page cache it uses (LMDB's and bbolt's mapped files included) under the limit,
 * reclaiming file pages first; a member whose anonymous memory alone outgrows it is killed by
 * the kernel's OOM killer, which the bench reports as a member that exited.
 *
 * cgroup v1 (the `memory` controller's hierarchy) and v2 (`memory.max` in the unified one).
 */

import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';

/** Where this process's memory cgroup is and which version it is, or why there is none. */
function ownMemoryCgroup(): { directory: string; version: 1 | 2 } {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  const v1 = lines
    .map((line) => line.split(':'))
    .find(([, controllers]) => controllers === 'memory');
  if (v1 !== undefined) return { directory: `/sys/fs/cgroup/memory${v1[2] ?? ''}`, version: 1 };
  const v2 = lines.map((line) => line.split(':')).find(([id]) => id === '0');
  if (v2 !== undefined) return { directory: `/sys/fs/cgroup${v2[2] ?? ''}`, version: 2 };
  throw new Error('MEMBER_MEMORY_LIMIT_MB: this process is in no memory cgroup');
}

/** How a bench starts a member's process: `spawn`, or `spawn` inside a cgroup of its own. */
export type Launch = (
  command: string,
  args: readonly string[],
  options: SpawnOptions,
) => ChildProcess;

/**
 * A `Launch` that starts each process in a new memory cgroup `<name>` limited to `megabytes`,
 * beside this process's own: a shell writes its own pid into the cgroup and then becomes the
 * member (`exec`), so nothing the member does is charged elsewhere. `release(name)` removes the
 * cgroup once its process has exited (its page cache goes to the parent).
 * @throws when this process is in no memory cgroup or may not make one beside it.
 */
export function memoryLimitedLaunch(
  name: string,
  megabytes: number,
): { launch: Launch; release(): void } {
  const { directory, version } = ownMemoryCgroup();
  const group = `${directory}/${name}`;
  mkdirSync(group, { recursive: true });
  const bytes = String(megabytes * 1024 * 1024);
  writeFileSync(`${group}/${version === 1 ? 'memory.limit_in_bytes' : 'memory.max'}`, bytes);
  return {
    launch: (command, args, options) =>
      spawn(
        '/bin/sh',
        ['-c', 'echo $$ > "$0" && exec "$@"', `${group}/cgroup.procs`, command, ...args],
        options,
      ),
    release: () => {
      try {
        rmdirSync(group);
      } catch {
        // still has a process (the bench was killed) or already gone: nothing to release
      }
    },
  };
}
