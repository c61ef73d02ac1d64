/**
 * Maintenance commands that go through the replicated log so every member applies them at the
 * same point: compaction of the history (etcd's `Compact`) and the cluster's alarms (etcd's
 * `Alarm`, e.g. NOSPACE once a member's store passes its quota). Encoded in binary for the log.
 */

import type { BinaryReader } from '../codec/binary-reader.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import type { BinaryWriter } from '../codec/binary-writer.js';
import type { MemberRegistryCommand } from './member-registry.js';
import { readRegisteredMember, writeRegisteredMember } from './member-registry.js';

/** etcd's alarm types (NONE too: etcd keeps an alarm of type NONE when asked to raise one). */
export type AlarmType = 'NONE' | 'NOSPACE' | 'CORRUPT';

/** One raised alarm: which member raised it (a decimal member id, as etcd shows it) and what. */
export interface AlarmMember {
  memberId: string;
  alarm: AlarmType;
}

/** A maintenance command. */
export type MaintenanceCommand =
  /** Compact the history at `revision` (`physical` is accepted for etcd's API; see README). */
  | { kind: 'compact'; revision: number; physical: boolean }
  /** Raise or clear an alarm. */
  | { kind: 'alarm'; action: 'activate' | 'deactivate'; member: AlarmMember }
  /**
   * Describe or forget a member, or record or settle a voter request, in the member registry
   * (see `member-registry.ts`).
   */
  | MemberRegistryCommand;

/** What applying a maintenance command produced, the same on every member. */
export interface MaintenanceResult {
  /** Store revision after the command. */
  revision: number;
  /** Why a compaction changed nothing: its revision was compacted already or is in the future. */
  error?: 'compacted' | 'future_revision';
  /** For an alarm command: the alarms it raised or cleared (etcd's response). */
  alarms: AlarmMember[];
}

const KIND_COMPACT = 1;
const KIND_ALARM = 2;
const KIND_MEMBER_PUT = 3;
const KIND_MEMBER_FORGET = 4;
const KIND_MEMBER_VOTER_REQUEST = 5;
const ALARM_TYPES: readonly AlarmType[] = ['NONE', 'NOSPACE', 'CORRUPT'];
const ERRORS = ['compacted', 'future_revision'] as const;

function writeAlarm(writer: BinaryWriter, member: AlarmMember): void {
  writer.writeUtf8(member.memberId);
  writer.writeByte(ALARM_TYPES.indexOf(member.alarm));
}

function readAlarm(reader: BinaryReader): AlarmMember {
  const memberId = reader.readUtf8();
  const alarm = ALARM_TYPES[reader.readByte()];
  if (alarm === undefined) throw new MalformedEncodingError('unknown alarm type');
  return { memberId, alarm };
}

/** Encodes a maintenance command's body. */
export function encodeMaintenanceCommand(writer: BinaryWriter, command: MaintenanceCommand): void {
  if (command.kind === 'compact') {
    writer.writeByte(KIND_COMPACT);
    writer.writeVarint(command.revision);
    writer.writeByte(command.physical ? 1 : 0);
  } else if (command.kind === 'alarm') {
    writer.writeByte(KIND_ALARM);
    writer.writeByte(command.action === 'activate' ? 1 : 0);
    writeAlarm(writer, command.member);
  } else if (command.kind === 'member-put') {
    writer.writeByte(KIND_MEMBER_PUT);
    writeRegisteredMember(writer, command.member);
  } else if (command.kind === 'member-forget') {
    writer.writeByte(KIND_MEMBER_FORGET);
    writer.writeUtf8(command.replicationId);
    writer.writeUtf8(command.id);
  } else {
    writer.writeByte(KIND_MEMBER_VOTER_REQUEST);
    writer.writeUtf8(command.replicationId);
    writer.writeByte(command.requested ? 1 : 0);
  }
}

/** Decodes a maintenance command's body. @throws MalformedEncodingError on bad bytes. */
export function decodeMaintenanceCommand(reader: BinaryReader): MaintenanceCommand {
  const kind = reader.readByte();
  if (kind === KIND_COMPACT) {
    const revision = reader.readVarint();
    return { kind: 'compact', revision, physical: reader.readByte() === 1 };
  }
  if (kind === KIND_ALARM) {
    const action = reader.readByte() === 1 ? 'activate' : 'deactivate';
    return { kind: 'alarm', action, member: readAlarm(reader) };
  }
  if (kind === KIND_MEMBER_PUT) return { kind: 'member-put', member: readRegisteredMember(reader) };
  if (kind === KIND_MEMBER_FORGET) {
    const replicationId = reader.readUtf8();
    return { kind: 'member-forget', replicationId, id: reader.readUtf8() };
  }
  if (kind === KIND_MEMBER_VOTER_REQUEST) {
    const replicationId = reader.readUtf8();
    const requested = reader.readByte();
    if (requested > 1) throw new MalformedEncodingError('voter request flag is not 0 or 1');
    return { kind: 'member-voter-request', replicationId, requested: requested === 1 };
  }
  throw new MalformedEncodingError(`unknown maintenance command ${kind}`);
}

/** Encodes a maintenance result (forwarded from the leader to the member a client waits on). */
export function encodeMaintenanceResult(writer: BinaryWriter, result: MaintenanceResult): void {
  writer.writeVarint(result.revision);
  writer.writeByte(result.error === undefined ? 0 : ERRORS.indexOf(result.error) + 1);
  writer.writeVarint(result.alarms.length);
  for (const member of result.alarms) writeAlarm(writer, member);
}

/** Decodes a maintenance result. @throws MalformedEncodingError on bad bytes. */
export function decodeMaintenanceResult(reader: BinaryReader): MaintenanceResult {
  const revision = reader.readVarint();
  const errorCode = reader.readByte();
  const error = errorCode === 0 ? undefined : ERRORS[errorCode - 1];
  if (errorCode !== 0 && error === undefined) {
    throw new MalformedEncodingError('unknown maintenance error');
  }
  const count = reader.readVarint();
  const alarms: AlarmMember[] = [];
  for (let index = 0; index < count; index++) alarms.push(readAlarm(reader));
  return { revision, ...(error === undefined ? {} : { error }), alarms };
}

/** The alarms raised in the cluster: replicated state, in snapshots too. */
export class AlarmTable {
  #alarms: AlarmMember[] = [];

  /** The raised alarms, in the order they were raised. */
  list(): AlarmMember[] {
    return this.#alarms.map((member) => ({ ...member }));
  }

  /** Whether an alarm of `type` is raised by any member. */
  has(type: AlarmType): boolean {
    return this.#alarms.some((member) => member.alarm === type);
  }

  /** Raises an alarm; returns it (raising one already raised changes nothing). */
  activate(member: AlarmMember): AlarmMember[] {
    if (!this.#alarms.some((raised) => sameAlarm(raised, member))) {
      this.#alarms.push({ ...member });
    }
    return [{ ...member }];
  }

  /** Clears an alarm; returns it if it was raised, as etcd does. */
  deactivate(member: AlarmMember): AlarmMember[] {
    const before = this.#alarms.length;
    this.#alarms = this.#alarms.filter((raised) => !sameAlarm(raised, member));
    return this.#alarms.length < before ? [{ ...member }] : [];
  }

  /** Replaces every alarm (snapshot restore). */
  replaceWith(alarms: readonly AlarmMember[]): void {
    this.#alarms = alarms.map((member) => ({ ...member }));
  }

  /** Encodes the table (for snapshots). */
  encode(writer: BinaryWriter): void {
    writer.writeVarint(this.#alarms.length);
    for (const member of this.#alarms) writeAlarm(writer, member);
  }

  /** Decodes a table encoded by {@link AlarmTable.encode}. @throws MalformedEncodingError. */
  static decode(reader: BinaryReader): AlarmMember[] {
    const count = reader.readVarint();
    const alarms: AlarmMember[] = [];
    for (let index = 0; index < count; index++) alarms.push(readAlarm(reader));
    return alarms;
  }
}

function sameAlarm(left: AlarmMember, right: AlarmMember): boolean {
  return left.memberId === right.memberId && left.alarm === right.alarm;
}
