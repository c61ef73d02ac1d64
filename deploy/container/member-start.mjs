#!/usr/bin/env node
// Entrypoint of a StatefulSet member: `node member-start.mjs <member command...>`. Before the
// member starts it decides how it joins, then runs the command (kv-node) with
// <prefix>INITIAL_CLUSTER and <prefix>INITIAL_CLUSTER_STATE set accordingly, forwards SIGTERM and
// SIGINT to it and exits with its status:
//
// - data directory holds state: start as it is (a restart), unless the cluster no longer lists
//   this member (it was removed on a scale-down and its volume kept): then refuse, because
//   starting would make a removed member run again;
// - empty, no member answers at KV_MEMBER_ENDPOINTS, and this member is in the bootstrap
//   INITIAL_CLUSTER: the cluster is being created; start with state `new`;
// - empty, the cluster answers, and lists this member as one that has run (it has client URLs):
//   its volume was lost. Restarting it under its old identity would make it forget writes it
//   acknowledged, so it is replaced as docs/guides/operations.md#replace-a-member says: removed,
//   added back as a new learner, started with state `existing`. KV_MEMBER_ON_LOST_VOLUME=refuse
//   exits instead, for an operator to decide;
// - empty, and not a member yet (a scale-up): added as a learner and started with `existing`.
//
// A learner is promoted once it has caught up: the cluster refuses the promotion until then, so
// it is retried every second while the member runs.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import {
  ClusterUnreachableError,
  listMembers,
  logLine,
  memberCall,
  MemberApiError,
  memberSettings,
  whileUnreachable,
} from './member-api.mjs';

const step = 'member-start';
const log = (message) => logLine(step, message);
const replaceRunbook = 'docs/guides/operations.md#replace-a-member';

/** Seconds to wait for an existing cluster to answer before concluding there is none yet. */
const discoverySeconds = Number(process.env.KV_MEMBER_DISCOVERY_SECONDS ?? 5);

/**
 * Seconds a membership change is retried while the cluster answers "unavailable" (etcd refuses
 * changes for a few seconds after a member connects).
 */
const changeSeconds = 30;

function holdsState(dataDir) {
  // A new file system's lost+found is not member state.
  return existsSync(dataDir) && readdirSync(dataDir).some((entry) => entry !== 'lost+found');
}

/** `name=url,...` of every member, the joining one (not yet named in the list) as `name`. */
function initialClusterOf(members, name, peerUrl) {
  return members
    .map(
      (member) => `${member.peerURLs.includes(peerUrl) ? name : member.name}=${member.peerURLs[0]}`,
    )
    .join(',');
}

/**
 * Whether `member` is this pod: listed under its name, or (added, not started yet) at its peer
 * URL.
 */
function isSelf(member, settings) {
  return member.name === settings.name || member.peerURLs.includes(settings.peerUrl);
}

async function existingMembers(settings) {
  try {
    return await whileUnreachable(discoverySeconds, () => listMembers(settings.endpoints));
  } catch (error) {
    if (error instanceof ClusterUnreachableError) return undefined;
    throw error;
  }
}

/**
 * Adds this pod as a learner at the manifest's peer URL. Every `member add` gives a fresh member
 * id, so the URL of a removed member (a scale-down, a lost volume) is taken again, as etcd takes
 * it; the joining member learns its id and the cluster id from the members.
 */
async function addSelf(settings) {
  const added = await whileUnreachable(changeSeconds, () =>
    memberCall(settings.endpoints, 'add', { peerURLs: [settings.peerUrl], isLearner: true }),
  );
  log(`added ${settings.name} as learner ${added.member?.ID} at ${settings.peerUrl}`);
  return listed(added.members);
}

/**
 * How to start: `{ state?, initialCluster? }`, or an Error that stops the pod with its message. A joining member learns the cluster id and its member id from
 * the members, as etcd does.
 */
async function planStart(settings) {
  const members = await existingMembers(settings);
  const self = members?.find((member) => isSelf(member, settings));
  if (holdsState(settings.dataDir)) {
    if (members !== undefined && self === undefined) {
      return new Error(
        `${settings.dataDir} holds the data of member ${settings.name}, which the cluster no longer lists (it was removed, for example on a scale-down): refusing to run a removed member. Delete this volume's data (kubectl delete pvc of this pod) to join as a new member`,
      );
    }
    log(`${settings.dataDir} holds state: restarting as member ${settings.name}`);
    return {};
  }
  if (members === undefined) {
    const bootstrap = settings.initialCluster.split(',').map((entry) => entry.split('=')[0]);
    if (!bootstrap.includes(settings.name)) {
      return new Error(
        `no member answers at ${settings.endpoints.join(',')} and ${settings.name} is not in the bootstrap cluster: cannot join yet`,
      );
    }
    log(`no cluster answers yet: creating it with the bootstrap members`);
    return { state: 'new' };
  }
  if (self !== undefined && self.clientURLs.length === 0 && !self.isLearner) {
    // A bootstrap member that never ran (it started late): it joins as created.
    log(`${settings.name} is a bootstrap member that has not run yet: starting it`);
    return { state: 'new' };
  }
  if (self !== undefined && self.clientURLs.length === 0) {
    log(`${settings.name} was added earlier and has not run yet: starting it`);
    return {
      state: 'existing',
      initialCluster: initialClusterOf(members, settings.name, settings.peerUrl),
    };
  }
  if (self !== undefined) {
    if (process.env.KV_MEMBER_ON_LOST_VOLUME === 'refuse') {
      return new Error(
        `member ${settings.name} has run before but ${settings.dataDir} is empty: its volume was lost. It must be replaced, not restarted (${replaceRunbook}); KV_MEMBER_ON_LOST_VOLUME=refuse leaves that to an operator`,
      );
    }
    log(
      `member ${settings.name} has run before but ${settings.dataDir} is empty: replacing it (${replaceRunbook}): removing member ${self.ID}`,
    );
    await whileUnreachable(changeSeconds, () =>
      memberCall(settings.endpoints, 'remove', { ID: self.ID }),
    );
  }
  const after = await addSelf(settings);
  return {
    state: 'existing',
    initialCluster: initialClusterOf(after, settings.name, settings.peerUrl),
  };
}

function listed(members = []) {
  return members.map((member) => ({
    ...member,
    name: member.name ?? '',
    peerURLs: member.peerURLs ?? [],
  }));
}

/** Promotes this member once the cluster accepts it; returns when it is a voter. */
async function promoteWhenCaughtUp(settings, peerUrl, running) {
  while (running()) {
    try {
      const self = (await listMembers(settings.endpoints)).find((member) =>
        member.peerURLs.includes(peerUrl),
      );
      if (self !== undefined && !self.isLearner) {
        log(`${settings.name} is a voting member`);
        return;
      }
      if (self !== undefined) {
        await memberCall(settings.endpoints, 'promote', { ID: self.ID });
        log(`promoted ${settings.name} (${self.ID})`);
        return;
      }
    } catch (error) {
      // "can only promote a learner member which is in sync with leader": not caught up yet.
      if (!(error instanceof MemberApiError || error instanceof ClusterUnreachableError))
        throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function main() {
  const [program, ...args] = process.argv.slice(2);
  if (program === undefined) throw new Error('usage: member-start.mjs <member command...>');
  const settings = memberSettings();
  const plan = await planStart(settings);
  if (plan instanceof Error) {
    process.stderr.write(`member-start: ${plan.message}\n`);
    return 1;
  }
  const env = { ...process.env };
  if (plan.state !== undefined) env[`${settings.prefix}INITIAL_CLUSTER_STATE`] = plan.state;
  if (plan.initialCluster !== undefined) {
    env[`${settings.prefix}INITIAL_CLUSTER`] = plan.initialCluster;
  }
  const child = spawn(program, args, { stdio: 'inherit', env });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15))),
  );
  let running = true;
  void exited.then(() => (running = false));
  if (plan.state === 'existing') {
    promoteWhenCaughtUp(settings, settings.peerUrl, () => running).catch((error) =>
      log(`promotion stopped: ${error.message}`),
    );
  }
  return exited;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`member-start: ${error.message}\n`);
    process.exit(1);
  },
);
