/**
 * The setup most real-process test files share: plan `size` members on free loopback ports, start
 * them with the CLI bundled once for the run, wait until every member knows a leader, and stop
 * every process by pid afterwards, including when the start itself failed.
 */

import type { ProcessMember } from './process-cluster.js';
import { ProcessCluster, sharedCliPath } from './process-cluster.js';

/** How one member is started when it differs from the rest (see {@link ProcessCluster.start}). */
export interface MemberStart {
  /** Flags after the member's planned ones. */
  readonly extraArgs?: readonly string[];
  /** Replaces the member's planned flags (e.g. `[]` for a member configured by `ETCD_*` alone). */
  readonly args?: readonly string[];
  /** Replaces the environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

/** Options of {@link startedCluster}. */
export interface StartedClusterOptions {
  /** Flags every member gets after the defaults of {@link ProcessCluster.create}. */
  readonly extraArgs?: readonly string[];
  /**
   * Runs once the members are planned, before any starts: to change their arguments or put
   * something (a proxy) in front of them.
   */
  readonly beforeStart?: (cluster: ProcessCluster) => Promise<void>;
  /**
   * How the member at `index` (0-based) is started, for a file whose members do not all start
   * alike; members for which it returns `undefined` start with their planned flags.
   */
  readonly memberStart?: (member: ProcessMember, index: number) => MemberStart | undefined;
}

/** A cluster whose members all answered /readyz, and the one way to stop it. */
export interface StartedCluster {
  readonly cluster: ProcessCluster;
  /** The first member (for single-member clusters). */
  readonly first: ProcessMember;
  /** Kills every member by pid and removes the data; safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * How many times a start is tried afresh, on new ports, when a member found a planned port taken:
 * ports are chosen before the members bind them (see `freePort`), and another test file running
 * at the same time may take one in between.
 */
const START_ATTEMPTS = 3;

/** Whether a member's output says it could not bind a planned port. */
function portTaken(cluster: ProcessCluster): boolean {
  return cluster.members.some((member) => member.output.join('').includes('is already in use'));
}

/**
 * Starts a `size`-member cluster and waits until every member answers /readyz with 200 (it
 * knows a leader). If it fails to, the members are killed before the error is thrown; a start
 * that failed because a planned port was taken is tried again on new ports.
 */
export async function startedCluster(
  size: number,
  options: StartedClusterOptions = {},
): Promise<StartedCluster> {
  for (let attempt = 1; ; attempt++) {
    const cluster = await ProcessCluster.create(sharedCliPath(), size, [
      ...(options.extraArgs ?? []),
    ]);
    const stop = (): Promise<void> => cluster.destroy();
    try {
      await options.beforeStart?.(cluster);
      for (const [index, member] of cluster.members.entries()) {
        const how = options.memberStart?.(member, index) ?? {};
        cluster.start(member, [...(how.extraArgs ?? [])], {
          ...(how.args === undefined ? {} : { args: [...how.args] }),
          ...(how.env === undefined ? {} : { env: how.env }),
        });
      }
      await cluster.waitReady();
      return { cluster, first: cluster.members[0] as ProcessMember, stop };
    } catch (error) {
      const retry = attempt < START_ATTEMPTS && portTaken(cluster);
      await stop();
      if (!retry) throw error;
    }
  }
}
