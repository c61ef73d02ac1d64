/**
 * Who the members are and where they listen, as this member sees it: `@x/leader-follower`'s
 * configuration in force (voters and learners, by replication id) described by the replicated
 * member registry, falling back to `--initial-cluster` for initial members the registry does
 * not describe yet.
 */

import type { ClusterConfiguration } from '@x/leader-follower';
import type { MemberRegistry, RegisteredMember } from '../store/member-registry.js';

/** One member as the Cluster API lists it. */
export interface ListedMember extends RegisteredMember {
  /** A learner: receives the log, never votes (etcd's `isLearner`). */
  isLearner: boolean;
}

/** An initial member, from `--initial-cluster` (its replication id is its name). */
export interface InitialMember {
  name: string;
  id: string;
  peerUrls: readonly string[];
}

/** What the directory reads, all of it live. */
export interface MemberDirectorySources {
  configuration(): ClusterConfiguration;
  registry: MemberRegistry;
  initialMembers: readonly InitialMember[];
  /** This member: its replication id and the client URLs it advertises. */
  self: { replicationId: string; clientUrls: readonly string[] };
}

/** The description of one replication id, from the registry, else `--initial-cluster`. */
export function describeMember(
  sources: MemberDirectorySources,
  replicationId: string,
): RegisteredMember {
  const registered = sources.registry.get(replicationId);
  const initial = sources.initialMembers.find((member) => member.name === replicationId);
  const described: RegisteredMember = registered ?? {
    replicationId,
    id: initial?.id ?? idOfReplicationId(replicationId),
    name: initial?.name ?? '',
    peerUrls: [...(initial?.peerUrls ?? [])],
    clientUrls: [],
  };
  if (replicationId === sources.self.replicationId && described.clientUrls.length === 0) {
    return { ...described, clientUrls: [...sources.self.clientUrls] };
  }
  return described;
}

/**
 * The peer URL to dial `replicationId` at: the first of its registered URLs, or, when
 * `--initial-cluster` lists it with the same URLs, the first there: a member may list a peer's
 * URLs in an order of its own (the chaos tool gives each directed link its own proxy address).
 */
export function dialUrlOf(
  sources: MemberDirectorySources,
  replicationId: string,
): string | undefined {
  const described = describeMember(sources, replicationId);
  const initial = sources.initialMembers.find((member) => member.name === replicationId);
  const sameUrls =
    initial !== undefined &&
    [...initial.peerUrls].sort().join(',') === [...described.peerUrls].sort().join(',');
  return sameUrls ? initial.peerUrls[0] : described.peerUrls[0];
}

/** An added member's replication id is its member id in hexadecimal. */
function idOfReplicationId(replicationId: string): string {
  return /^[0-9a-f]{1,16}$/.test(replicationId) ? BigInt(`0x${replicationId}`).toString(10) : '0';
}

/**
 * Every member of the configuration in force, sorted by member id as etcd lists them, each a
 * learner exactly when the configuration says so (what a joining member must start from).
 */
export function listMembers(sources: MemberDirectorySources): ListedMember[] {
  const configuration = sources.configuration();
  const members: ListedMember[] = [
    ...configuration.voters.map((replicationId) => ({
      ...describeMember(sources, replicationId),
      isLearner: false,
    })),
    ...configuration.learners.map((replicationId) => ({
      ...describeMember(sources, replicationId),
      isLearner: true,
    })),
  ];
  return members.sort((left, right) => {
    const a = BigInt(left.id);
    const b = BigInt(right.id);
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/**
 * The members as etcd's Cluster API shows them: a member added as a voter is listed as a voter
 * from the start, as etcd makes it one at once, though kv-node keeps it a learner until it is in
 * sync (the request is in the replicated registry, so every member lists it alike).
 */
export function listMembersAsAdded(sources: MemberDirectorySources): ListedMember[] {
  return listMembers(sources).map((member) =>
    member.isLearner && sources.registry.isVoterRequested(member.replicationId)
      ? { ...member, isLearner: false }
      : member,
  );
}
