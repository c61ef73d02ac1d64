/**
 * The replicated lease commands (etcd's `LeaseGrantRequest` and `LeaseRevokeRequest` in its raft
 * log) and their results, in binary. Keep-alives are not here: as in etcd 3.4, they renew the
 * leader's in-memory deadline and never enter the log.
 */

import type { BinaryReader } from '../codec/binary-reader.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import type { BinaryWriter } from '../codec/binary-writer.js';
import type { LeaseErrorName } from './lease-errors.js';
import { leaseErrorCode, leaseErrorName } from './lease-errors.js';
import type { LeaseId } from './lease-id.js';
import { parseLeaseId } from './lease-id.js';

/** One change to the lease table. */
export type LeaseCommand =
  /** Creates a lease; the receiving member chose the id (if the client did not) and the TTL. */
  | { op: 'grant'; id: LeaseId; ttlSeconds: number }
  /**
   * Removes a lease and deletes its keys in one revision: asked by a client, or proposed by the
   * leader when the lease expired on its clock (`expired`).
   */
  | { op: 'revoke'; id: LeaseId; expired: boolean };

/** What applying a lease command produced, the same on every member. */
export interface LeaseApplyResult {
  /** The store revision after the command. */
  revision: number;
  /** Why nothing changed, if it failed. */
  error?: LeaseErrorName;
  /** The lease granted (grant only). */
  id?: LeaseId;
  /** Its TTL in seconds (grant only). */
  ttlSeconds?: number;
}

const GRANT = 0;
const REVOKE = 1;

function readId(reader: BinaryReader): LeaseId {
  const id = reader.readUtf8();
  if (parseLeaseId(id) !== id) throw new MalformedEncodingError(`bad lease id "${id}"`);
  return id;
}

/** Writes a lease command (the body of a log command of kind lease). */
export function encodeLeaseCommand(writer: BinaryWriter, command: LeaseCommand): void {
  if (command.op === 'grant') {
    writer.writeByte(GRANT);
    writer.writeUtf8(command.id);
    writer.writeVarint(command.ttlSeconds);
  } else {
    writer.writeByte(REVOKE);
    writer.writeUtf8(command.id);
    writer.writeByte(command.expired ? 1 : 0);
  }
}

/** Reads a lease command. @throws MalformedEncodingError if the bytes are not one. */
export function decodeLeaseCommand(reader: BinaryReader): LeaseCommand {
  const op = reader.readByte();
  switch (op) {
    case GRANT:
      return { op: 'grant', id: readId(reader), ttlSeconds: reader.readVarint() };
    case REVOKE:
      return { op: 'revoke', id: readId(reader), expired: reader.readByte() === 1 };
    default:
      throw new MalformedEncodingError(`unknown lease command ${op}`);
  }
}

/** Writes a lease result (for a follower that forwarded the command). */
export function encodeLeaseResult(writer: BinaryWriter, result: LeaseApplyResult): void {
  writer.writeVarint(result.revision);
  writer.writeByte(result.error === undefined ? 0 : leaseErrorCode(result.error));
  writer.writeUtf8(result.id ?? '');
  writer.writeVarint(result.ttlSeconds ?? 0);
}

/** Reads a lease result. @throws MalformedEncodingError on an unknown error code or bad id. */
export function decodeLeaseResult(reader: BinaryReader): LeaseApplyResult {
  const revision = reader.readVarint();
  const code = reader.readByte();
  const id = reader.readUtf8();
  const ttlSeconds = reader.readVarint();
  const result: LeaseApplyResult = { revision };
  if (code !== 0) {
    const error = leaseErrorName(code);
    if (error === undefined) throw new MalformedEncodingError(`unknown lease error ${code}`);
    result.error = error;
  }
  if (id !== '') {
    if (parseLeaseId(id) !== id) throw new MalformedEncodingError(`bad lease id "${id}"`);
    result.id = id;
    result.ttlSeconds = ttlSeconds;
  }
  return result;
}
