/**
 * `kv-node cluster --nodes N`: runs N members as child processes on 127.0.0.1, prints where they
 * are, and stops them all on Ctrl-C. A member that exits is reported, never restarted silently.
 * Peer links run through the launcher's proxy, so the dashboard can partition a member.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { startDashboardServer } from '../dashboard/dashboard-server.js';
import { HttpClusterStatusSource } from '../dashboard/http-status-source.js';
import { createSignalDemoControl } from '../dashboard/signal-demo-control.js';
import type { LocalMemberPlan } from './local-cluster-plan.js';
import { clusterBanner, localClusterSecretFile, planLocalCluster } from './local-cluster-plan.js';
import type { LocalClusterState } from './local-cluster-state.js';
import { readLocalClusterState, writeLocalClusterState } from './local-cluster-state.js';
import { ensurePeerSecretFile } from './cluster-secret.js';
import { LocalMembership } from './local-membership.js';
import type { LocalMemberProcesses } from './local-membership.js';
import { startLocalPeerProxy } from './local-peer-proxy.js';
import type { LocalPeerProxy } from './local-peer-proxy.js';

/** Options of {@link runLocalCluster}. */
export interface LocalClusterOptions {
  nodes: number;
  basePort: number;
  dataDir: string;
  /** The kv-node entry script to run each member with. */
  cliPath: string;
  extraArgs: string[];
  /** The members' `--replication` (also in `extraArgs`): quorum mode has no membership changes. */
  replication?: 'leader' | 'quorum';
  /** Host names the dashboard answers (`--dashboard-host-whitelist`; default: loopback only). */
  dashboardAllowedHosts?: readonly string[];
  out: { write(text: string): unknown };
}

const READY_TIMEOUT_MS = 30_000;

/**
 * Node flags for each member: V8 fixes its young generation's size when a process starts, and
 * Node 24's grows to 128 MB committed; 16 MB semi-spaces keep it at 32 MB (about 120 MB less RSS
 * per member, no throughput cost measured; docs/benchmarks.md). A setting of the operator's own
 * (in NODE_OPTIONS or this process's flags) is left to stand.
 */
const MEMBER_NODE_FLAGS = [process.env.NODE_OPTIONS ?? '', ...process.execArgv].some((flag) =>
  /semi[-_]space/.test(flag),
)
  ? []
  : ['--max-semi-space-size=16'];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function isReady(member: LocalMemberPlan): Promise<boolean> {
  try {
    const response = await fetch(`${member.clientUrl}/readyz`, {
      signal: AbortSignal.timeout(1000),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** The leader's name and the learners' names, as `member` sees the cluster. */
async function rolesSeenBy(
  member: LocalMemberPlan,
): Promise<{ leader: string | undefined; learners: Set<string> }> {
  try {
    const response = await fetch(`${member.clientUrl}/v1/cluster`, {
      signal: AbortSignal.timeout(1000),
    });
    const status = (await response.json()) as {
      leader_id: string | null;
      members: { id: string; name: string; is_learner?: boolean }[];
    };
    return {
      leader: status.members.find((candidate) => candidate.id === status.leader_id)?.name,
      learners: new Set(
        status.members.filter((candidate) => candidate.is_learner === true).map((m) => m.name),
      ),
    };
  } catch {
    return { leader: undefined, learners: new Set() };
  }
}

/** Runs the cluster until Ctrl-C (resolves with the exit code). */
export async function runLocalCluster(options: LocalClusterOptions): Promise<number> {
  const memberExtraArgs = ['--log-format', 'text', ...options.extraArgs];
  let saved: LocalClusterState | undefined;
  try {
    saved = readLocalClusterState(options.dataDir);
  } catch (error) {
    options.out.write(`kv-node cluster: ${(error as Error).message}\n`);
    return 1;
  }
  // After a membership change the saved members are the cluster; --nodes described its start.
  const state: LocalClusterState = saved ?? {
    members: planLocalCluster({
      nodes: options.nodes,
      basePort: options.basePort,
      dataDir: options.dataDir,
      extraArgs: memberExtraArgs,
    }),
    addedMemberIds: {},
  };
  if (saved !== undefined) {
    options.out.write(
      `kv-node cluster: starting the ${saved.members.length} members this cluster had after its ` +
        'last membership change (--nodes applies to a new data directory only)\n',
    );
  }
  let members = state.members;
  try {
    ensurePeerSecretFile(localClusterSecretFile(options.dataDir));
  } catch (error) {
    options.out.write(
      `kv-node cluster: cannot create the peer secret in ${options.dataDir}: ${(error as Error).message}\n`,
    );
    return 1;
  }
  let peerProxy: LocalPeerProxy;
  try {
    // Before any member starts: a taken peer port fails here, with nothing to clean up.
    peerProxy = await startLocalPeerProxy(members, { next: Math.random });
  } catch (error) {
    options.out.write(
      `kv-node cluster: cannot listen on the members' peer ports: ${(error as Error).message}\n`,
    );
    return 1;
  }
  for (const member of members) {
    const id = state.addedMemberIds[member.name];
    if (id !== undefined) peerProxy.identify(member, id);
  }
  const proxy = peerProxy.proxy;
  const children = new Map<string, ChildProcess>();
  /** Members removed from the cluster, whose exit is expected. */
  const leaving = new Set<string>();
  let stopping = false;
  let failedAtStart = false;
  let startupDone = false;

  const hasExited = (child: ChildProcess): boolean =>
    child.exitCode !== null || child.signalCode !== null;

  const stopChildren = async (running: ChildProcess[]): Promise<void> => {
    // A member paused from the dashboard cannot handle SIGTERM until it is resumed.
    for (const child of running) child.kill('SIGCONT');
    for (const child of running) child.kill('SIGTERM');
    const deadline = Date.now() + 10_000;
    while (running.some((child) => !hasExited(child))) {
      if (Date.now() > deadline) {
        for (const child of running) if (!hasExited(child)) child.kill('SIGKILL');
        break;
      }
      await sleep(50);
    }
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    await stopChildren([...children.values()].filter((child) => !hasExited(child)));
  };

  const startMember = (member: LocalMemberPlan): void => {
    mkdirSync(member.dataDir, { recursive: true });
    const child = spawn(process.execPath, [...MEMBER_NODE_FLAGS, options.cliPath, ...member.args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: withoutEtcdVariables(process.env),
    });
    children.set(member.name, child);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      if (leaving.has(member.name)) {
        options.out.write(`\n${member.name} stopped: it was removed from the cluster\n`);
        return;
      }
      failedAtStart ||= !startupDone;
      options.out.write(
        `\n${member.name} exited (${signal ?? `code ${code}`}); it is not restarted. ` +
          'Ctrl-C stops the others.\n',
      );
    });
  };
  for (const member of members) startMember(member);

  const runningChild = (name: string): ChildProcess | undefined => {
    const child = children.get(name);
    return child !== undefined && !hasExited(child) ? child : undefined;
  };
  const statusSource = new HttpClusterStatusSource({
    members: members.map(({ name, clientUrl }) => ({ name, clientUrl })),
  });
  const processes: LocalMemberProcesses = {
    start: (member) => {
      leaving.delete(member.name);
      startMember(member);
    },
    isRunning: (name) => runningChild(name) !== undefined,
    expectExit: (name) => void leaving.add(name),
    waitForExit: async (name, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (runningChild(name) !== undefined) {
        if (Date.now() > deadline) return false;
        await sleep(100);
      }
      return true;
    },
    stop: async (name) => {
      leaving.add(name);
      const child = runningChild(name);
      if (child !== undefined) await stopChildren([child]);
    },
  };
  const membership = new LocalMembership({
    state,
    basePort: options.basePort,
    dataDir: options.dataDir,
    extraArgs: memberExtraArgs,
    proxy: peerProxy,
    processes,
    out: options.out,
    ...(options.replication === 'quorum'
      ? {
          refuseChanges:
            "a quorum-mode cluster's members are fixed by --initial-cluster (its member API refuses changes)",
        }
      : {}),
    changed: (next) => {
      members = next.members;
      for (const name of [...children.keys()]) {
        if (!members.some((member) => member.name === name) && runningChild(name) === undefined) {
          children.delete(name);
        }
      }
      statusSource.setMembers(members.map(({ name, clientUrl }) => ({ name, clientUrl })));
      try {
        writeLocalClusterState(options.dataDir, next);
      } catch (error) {
        options.out.write(
          `\nkv-node cluster: cannot record the members in ${options.dataDir} ` +
            `(${(error as Error).message}); a restart of the launcher would start the old ones\n`,
        );
      }
    },
  });
  // The launcher serves the dashboard itself, so the page survives killing any member (demo mode).
  let dashboard: Awaited<ReturnType<typeof startDashboardServer>>;
  try {
    dashboard = await startDashboardServer({
      port: options.basePort - 1,
      title: 'kv-node local cluster',
      ...(options.dashboardAllowedHosts === undefined
        ? {}
        : { allowedHosts: options.dashboardAllowedHosts }),
      statusSource,
      members: {
        add: (authorization) =>
          membership.add(authorization === undefined ? {} : { authorization }),
        remove: (name, authorization) =>
          membership.remove(name, authorization === undefined ? {} : { authorization }),
        replace: (name, authorization) =>
          membership.replace(name, authorization === undefined ? {} : { authorization }),
      },
      demo: createSignalDemoControl({
        pidOf: (name) => runningChild(name)?.pid,
        restart: (name) => {
          if (runningChild(name) !== undefined)
            return Promise.reject(new Error(`${name} is running; kill it first`));
          const member = members.find((candidate) => candidate.name === name);
          if (member === undefined) return Promise.reject(new Error(`no member ${name}`));
          options.out.write(`\n${name} restarted from the dashboard\n`);
          startMember(member);
          return Promise.resolve();
        },
        partition: (name) => {
          if (!members.some((member) => member.name === name)) {
            return Promise.reject(new Error(`no member ${name}`));
          }
          proxy.isolate(name);
          // The members log lost connections; this says why.
          options.out.write(`\n${name} partitioned from its peers from the dashboard\n`);
          return Promise.resolve();
        },
        heal: () => {
          proxy.healAll();
          options.out.write('\nevery partition healed from the dashboard\n');
          return Promise.resolve();
        },
      }),
    });
  } catch (error) {
    // The members are already running: never leave them behind.
    await stopAll();
    await proxy.close();
    throw error;
  }

  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    options.out.write('\nstopping every member...\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const started = Date.now();
    while (!interrupted && !failedAtStart) {
      const ready = await Promise.all(members.map(isReady));
      if (ready.every(Boolean)) break;
      if (Date.now() - started > READY_TIMEOUT_MS) {
        options.out.write('the cluster did not become ready in 30 s; stopping it\n');
        failedAtStart = true;
        break;
      }
      await sleep(200);
    }
    startupDone = true;
    if (!interrupted && !failedAtStart) {
      const { leader, learners } = await rolesSeenBy(members[0] as LocalMemberPlan);
      options.out.write(clusterBanner(members, leader, options.dataDir, dashboard.url, learners));
    }
    while (!interrupted && !failedAtStart) {
      await sleep(200);
      if (children.size > 0 && [...children.values()].every(hasExited)) break;
    }
  } finally {
    await dashboard.close();
    await stopAll();
    await proxy.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return failedAtStart ? 1 : 0;
}

/**
 * The environment for a member the launcher starts: without `ETCD_*` variables, which are meant
 * for a single etcd member and would conflict, as in etcd, with the flags the launcher plans for
 * each member (`KV_NODE_*` variables still apply to all of them).
 */
function withoutEtcdVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('ETCD_')));
}
