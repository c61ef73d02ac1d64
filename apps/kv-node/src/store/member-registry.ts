/**
 * The member registry: each member's name, etcd member id, peer URLs and client URLs, replicated
 * through the log like the keys and kept in snapshots, so every member (and every member that
 * joins later) knows where every other listens. `@x/leader-follower`'s configuration says who
 * is a member (voters, learners, by replication id); the registry only describes them. A record
 * of a replication id the configuration does not list describes nobody and is never shown.
 * It also holds the members added as voters that are learners until they are in sync: a request
 * every leader reads (the one that took it may be gone), so whoever leads promotes them.
 */

import type { BinaryReader } from '../codec/binary-reader.js';
import type { BinaryWriter } from '../codec/binary-writer.js';

/** What the cluster knows of one member (etcd's `Member`, less the learner flag). */
export interface RegisteredMember {
  /** The member's id in `@x/leader-follower` and on the peer transport. */
  replicationId: string;
  /** etcd's member id: a 64-bit unsigned integer as a decimal string. */
  id: string;
  /** The member's `--name`; empty until an added member has started and published it. */
  name: string;
  peerUrls: string[];
  /** Empty until the member has started and published them. */
  clientUrls: string[];
}

/** A change to the registry, applied through the log (a maintenance command). */
export type MemberRegistryCommand =
  /** Records (or replaces) a member's description. */
  | { kind: 'member-put'; member: RegisteredMember }
  /**
   * Retires a member's etcd id before its removal is proposed: it may never be added again
   * (etcd's rule). Its description stays, describing nobody once the member is removed.
   */
  | { kind: 'member-forget'; replicationId: string; id: string }
  /**
   * Records (`requested: true`) that a member was added as a voter, to be promoted once in sync;
   * or settles the request (`false`) once the member is a voter or removed.
   */
  | { kind: 'member-voter-request'; replicationId: string; requested: boolean };

function writeStrings(writer: BinaryWriter, values: readonly string[]): void {
  writer.writeVarint(values.length);
  for (const value of values) writer.writeUtf8(value);
}

function readStrings(reader: BinaryReader): string[] {
  const count = reader.readVarint();
  const values: string[] = [];
  for (let index = 0; index < count; index++) values.push(reader.readUtf8());
  return values;
}

/** Encodes one member's description. */
export function writeRegisteredMember(writer: BinaryWriter, member: RegisteredMember): void {
  writer.writeUtf8(member.replicationId);
  writer.writeUtf8(member.id);
  writer.writeUtf8(member.name);
  writeStrings(writer, member.peerUrls);
  writeStrings(writer, member.clientUrls);
}

/** Decodes one member's description. @throws MalformedEncodingError on bad bytes. */
export function readRegisteredMember(reader: BinaryReader): RegisteredMember {
  return {
    replicationId: reader.readUtf8(),
    id: reader.readUtf8(),
    name: reader.readUtf8(),
    peerUrls: readStrings(reader),
    clientUrls: readStrings(reader),
  };
}

function copyOf(member: RegisteredMember): RegisteredMember {
  return { ...member, peerUrls: [...member.peerUrls], clientUrls: [...member.clientUrls] };
}

/** The registry itself: replicated state, in snapshots too. */
export class MemberRegistry {
  #members = new Map<string, RegisteredMember>();
  #removedIds = new Set<string>();
  /** Replication ids of members added as voters and not yet settled (see the file comment). */
  #voterRequests = new Set<string>();

  /** The description of the member with this replication id, if recorded. */
  get(replicationId: string): RegisteredMember | undefined {
    const member = this.#members.get(replicationId);
    return member === undefined ? undefined : copyOf(member);
  }

  /** Every recorded description. */
  list(): RegisteredMember[] {
    return [...this.#members.values()].map(copyOf);
  }

  /** Whether a member with this etcd id was removed (its id is never reused). */
  wasRemoved(id: string): boolean {
    return this.#removedIds.has(id);
  }

  /** The etcd ids of removed members. */
  removedIds(): string[] {
    return [...this.#removedIds];
  }

  /** Whether the member with this replication id was added as a voter and is not settled yet. */
  isVoterRequested(replicationId: string): boolean {
    return this.#voterRequests.has(replicationId);
  }

  /** The replication ids of members added as voters and not settled yet, in request order. */
  voterRequests(): string[] {
    return [...this.#voterRequests];
  }

  /** Applies a command (deterministic on every member). */
  apply(command: MemberRegistryCommand): void {
    if (command.kind === 'member-put') {
      this.#members.set(command.member.replicationId, copyOf(command.member));
    } else if (command.kind === 'member-forget') {
      this.#removedIds.add(command.id);
    } else if (command.requested) {
      this.#voterRequests.add(command.replicationId);
    } else {
      this.#voterRequests.delete(command.replicationId);
    }
  }

  /**
   * Replaces the whole registry (snapshot restore).
   * @param voterRequests absent in snapshots written before requests were replicated: none.
   */
  replaceWith(
    members: readonly RegisteredMember[],
    removedIds: readonly string[],
    voterRequests: readonly string[] = [],
  ): void {
    this.#members = new Map(members.map((member) => [member.replicationId, copyOf(member)]));
    this.#removedIds = new Set(removedIds);
    this.#voterRequests = new Set(voterRequests);
  }

  /** Encodes the registry (for snapshots): descriptions, removed ids, then voter requests. */
  encode(writer: BinaryWriter): void {
    writer.writeVarint(this.#members.size);
    for (const member of this.#members.values()) writeRegisteredMember(writer, member);
    writeStrings(writer, [...this.#removedIds]);
    writeStrings(writer, [...this.#voterRequests]);
  }

  /**
   * Decodes a registry encoded by {@link MemberRegistry.encode}.
   * @param withVoterRequests false for the encoding before voter requests were replicated
   *   (snapshot format 5), which ends after the removed ids.
   * @throws MalformedEncodingError on bad bytes.
   */
  static decode(reader: BinaryReader, withVoterRequests = true): MemberRegistry {
    const count = reader.readVarint();
    const members: RegisteredMember[] = [];
    for (let index = 0; index < count; index++) members.push(readRegisteredMember(reader));
    const removedIds = readStrings(reader);
    const voterRequests = withVoterRequests ? readStrings(reader) : [];
    const registry = new MemberRegistry();
    registry.replaceWith(members, removedIds, voterRequests);
    return registry;
  }
}
