/**
 * The replicated command: one write to the key-value store, with an optional client request id
 * for the idempotent receiver. Encoded compactly in binary (no JSON per log entry).
 *
 * Layout: format byte, kind byte, request id (length-prefixed UTF-8; empty for none), the user
 * (length-prefixed UTF-8, only when the kind byte has {@link USER_FLAG}), then the request body.
 * The user, when auth is enabled, is checked again when the command is applied.
 */

import type { AuthCommand } from '../auth/auth-command.js';
import { decodeAuthCommand, encodeAuthCommand } from '../auth/auth-command.js';
import type { LeaseCommand } from '../lease/lease-command.js';
import { decodeLeaseCommand, encodeLeaseCommand } from '../lease/lease-command.js';
import { anyLeased, decodePutLeases, encodePutLeases, putsOfTxn } from '../lease/leased-puts.js';
import type { DeleteRangeRequest, PutRequest, TxnRequest } from '../store/kv-types.js';
import type { MaintenanceCommand } from '../store/maintenance-command.js';
import {
  decodeMaintenanceCommand,
  encodeMaintenanceCommand,
} from '../store/maintenance-command.js';
import { BinaryReader, MalformedEncodingError } from './binary-reader.js';
import { BinaryWriter } from './binary-writer.js';
import {
  decodeDeleteRange,
  decodePut,
  decodeTxn,
  encodeDeleteRange,
  encodePut,
  encodeTxn,
} from './request-codec.js';

/** A write to apply through the replicated log. */
export type KvCommand = (
  | { type: 'put'; request: PutRequest; requestId?: string }
  | { type: 'deleteRange'; request: DeleteRangeRequest; requestId?: string }
  | { type: 'txn'; request: TxnRequest; requestId?: string }
  /** A change to the auth state (see `auth/`); never remembered by the idempotency table. */
  | { type: 'auth'; request: AuthCommand; requestId?: string }
  /** A lease grant or revoke (see `lease/`); never remembered by the idempotency table. */
  | { type: 'lease'; request: LeaseCommand; requestId?: string }
  /** Compaction or an alarm (see `store/maintenance-command.ts`); never remembered either. */
  | { type: 'maintenance'; request: MaintenanceCommand; requestId?: string }
) & {
  /**
   * The authenticated user the write is made as (absent when auth was disabled where it was
   * received). While auth is enabled, applying checks the user's permissions again.
   */
  user?: string;
};

/** A decoded command and a fingerprint of its body (to tell a retry from a reused request id). */
export interface DecodedCommand {
  command: KvCommand;
  /** FNV-1a hash of the body bytes (everything after the request id, the user included). */
  bodyFingerprint: number;
}

const FORMAT = 1;
const KIND_PUT = 1;
const KIND_DELETE_RANGE = 2;
const KIND_TXN = 3;
/** Auth commands; a separate range of kinds so KV kinds can grow without colliding. */
const KIND_AUTH = 16;
/** Lease grant and revoke (see `lease/lease-command.ts`). */
const KIND_LEASE = 17;
/**
 * A put, or a txn, some of whose puts attach a lease: the request as in kinds 1 and 3, then the
 * lease of each put (see `lease/leased-puts.ts`). Writes without a lease keep kinds 1 and 3.
 */
const KIND_LEASED_PUT = 18;
const KIND_LEASED_TXN = 19;
/** Maintenance commands (compaction, alarms); their own range of kinds too. */
const KIND_MAINTENANCE = 32;
/** Set in the kind byte when a user name follows the request id. */
const USER_FLAG = 0x40;

/** FNV-1a, 32 bits: cheap, and enough to catch a request id reused for a different request. */
function fingerprint(bytes: Uint8Array, start: number): number {
  let hash = 0x811c9dc5;
  for (let index = start; index < bytes.length; index++) {
    hash = Math.imul(hash ^ (bytes[index] as number), 0x01000193);
  }
  return hash >>> 0;
}

function writeHead(writer: BinaryWriter, kind: number, command: KvCommand): void {
  writer.writeByte(command.user === undefined ? kind : kind | USER_FLAG);
  writer.writeUtf8(command.requestId ?? '');
  if (command.user !== undefined) writer.writeUtf8(command.user);
}

/** Encodes a command for the log. */
export function encodeCommand(command: KvCommand): Uint8Array {
  const writer = new BinaryWriter(64);
  writer.writeByte(FORMAT);
  switch (command.type) {
    case 'put':
      if (anyLeased([command.request])) {
        writeHead(writer, KIND_LEASED_PUT, command);
        encodePut(writer, command.request);
        encodePutLeases(writer, [command.request]);
        break;
      }
      writeHead(writer, KIND_PUT, command);
      encodePut(writer, command.request);
      break;
    case 'deleteRange':
      writeHead(writer, KIND_DELETE_RANGE, command);
      encodeDeleteRange(writer, command.request);
      break;
    case 'txn': {
      const puts = putsOfTxn(command.request);
      if (anyLeased(puts)) {
        writeHead(writer, KIND_LEASED_TXN, command);
        encodeTxn(writer, command.request);
        encodePutLeases(writer, puts);
        break;
      }
      writeHead(writer, KIND_TXN, command);
      encodeTxn(writer, command.request);
      break;
    }
    case 'auth':
      writeHead(writer, KIND_AUTH, command);
      encodeAuthCommand(writer, command.request);
      break;
    case 'lease':
      writeHead(writer, KIND_LEASE, command);
      encodeLeaseCommand(writer, command.request);
      break;
    case 'maintenance':
      writeHead(writer, KIND_MAINTENANCE, command);
      encodeMaintenanceCommand(writer, command.request);
      break;
  }
  // Kept in the log until applied and replicated: not a view pinning a pooled slab.
  return writer.finishExact();
}

/**
 * Whether encoded command bytes hold a transaction, read from the kind byte without decoding
 * (a leader decodes only transactions for its admission check).
 */
export function isTxnCommand(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 2 &&
    bytes[0] === FORMAT &&
    (bytes[1] === KIND_TXN || bytes[1] === KIND_LEASED_TXN)
  );
}

/**
 * Decodes a command from the log.
 *
 * @throws MalformedEncodingError if the bytes are not a command of this format.
 */
export function decodeCommand(bytes: Uint8Array): DecodedCommand {
  const reader = new BinaryReader(bytes);
  const format = reader.readByte();
  if (format !== FORMAT) throw new MalformedEncodingError(`unknown command format ${format}`);
  const flaggedKind = reader.readByte();
  const kind = flaggedKind & ~USER_FLAG;
  const requestId = reader.readUtf8();
  const bodyStart = reader.offset;
  const user = (flaggedKind & USER_FLAG) === 0 ? undefined : reader.readUtf8();
  let command: KvCommand;
  switch (kind) {
    case KIND_PUT:
      command = { type: 'put', request: decodePut(reader) };
      break;
    case KIND_DELETE_RANGE:
      command = { type: 'deleteRange', request: decodeDeleteRange(reader) };
      break;
    case KIND_TXN:
      command = { type: 'txn', request: decodeTxn(reader) };
      break;
    case KIND_AUTH:
      command = { type: 'auth', request: decodeAuthCommand(reader) };
      break;
    case KIND_LEASE:
      command = { type: 'lease', request: decodeLeaseCommand(reader) };
      break;
    case KIND_LEASED_PUT: {
      const request = decodePut(reader);
      decodePutLeases(reader, [request]);
      command = { type: 'put', request };
      break;
    }
    case KIND_LEASED_TXN: {
      const request = decodeTxn(reader);
      decodePutLeases(reader, putsOfTxn(request));
      command = { type: 'txn', request };
      break;
    }
    case KIND_MAINTENANCE:
      command = { type: 'maintenance', request: decodeMaintenanceCommand(reader) };
      break;
    default:
      throw new MalformedEncodingError(`unknown command kind ${kind}`);
  }
  if (!reader.atEnd) throw new MalformedEncodingError(`trailing bytes after command`);
  if (requestId !== '') command.requestId = requestId;
  if (user !== undefined) command.user = user;
  return {
    command,
    bodyFingerprint: requestId === '' ? 0 : fingerprint(bytes, bodyStart),
  };
}
