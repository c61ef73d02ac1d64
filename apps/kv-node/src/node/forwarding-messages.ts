/**
 * Wire format of forwarded requests between a follower and the leader, carried on the peer
 * transport under kv-node's reserved message types.
 */

import { BinaryReader } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { decodeAuthResult, encodeAuthResult } from '../auth/auth-command.js';
import { decodeResponseOp, encodeResponseOp } from '../codec/result-codec.js';
import { decodeLeaseResult, encodeLeaseResult } from '../lease/lease-command.js';
import type { LeaseAnswer, LeaseQuery } from '../lease/lease-driver.js';
import { parseLeaseId } from '../lease/lease-id.js';
import type { ApplyOutcome, RefusalReason } from '../store/kv-state-machine.js';
import { decodeMaintenanceResult, encodeMaintenanceResult } from '../store/maintenance-command.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import { KV_NODE_MESSAGE_TYPE_BASE } from './transport.js';
import type { ForwardedOutcome } from './forwarded-outcome.js';
import {
  FORWARD_REFUSAL_REASONS,
  ForwardRefusal,
  MAX_REFUSAL_DETAIL_BYTES,
  MAX_REFUSAL_RETRY_AFTER_SECONDS,
} from './forwarded-outcome.js';

/**
 * Message types of the forwarding protocol. `KV_NODE_MESSAGE_TYPE_BASE + 1` and `+ 2` carried
 * single forwarded writes and their answers before writes travelled in batches: never reuse them.
 */
export const ForwardingType = {
  readRequest: KV_NODE_MESSAGE_TYPE_BASE + 3,
  readResponse: KV_NODE_MESSAGE_TYPE_BASE + 4,
  /** Several writes in one message: what a follower sends (one message per event-loop turn). */
  writeBatchRequest: KV_NODE_MESSAGE_TYPE_BASE + 5,
  /** Answers to several forwarded writes in one message. */
  writeBatchResponse: KV_NODE_MESSAGE_TYPE_BASE + 6,
  /** A keep-alive or time-to-live question for the leader's lease clock (see `lease/`). */
  leaseQueryRequest: KV_NODE_MESSAGE_TYPE_BASE + 7,
  /** The leader's answer to a lease question. */
  leaseQueryResponse: KV_NODE_MESSAGE_TYPE_BASE + 8,
} as const;

/** One forwarded write in a batch: its correlation id and encoded command. */
export interface ForwardedWrite {
  correlationId: number;
  command: Uint8Array;
}

/** One answer in a batch of write answers. */
export interface WriteAnswer {
  correlationId: number;
  outcome: ForwardedOutcome<ApplyOutcome>;
}

const APPLIED = 0;
const REPLAYED = 1;
const REJECTED = 2;
// 3 carried an HTTP error (status, gRPC code and all) before refusals had reasons of their own:
// never reuse it, so that such an answer from an older member reads as malformed.
/** An auth command's result (see `auth/auth-command.ts`). */
const AUTH_APPLIED = 4;
/** A lease command's result, or a write refused for its lease (see `lease/lease-command.ts`). */
const LEASE_APPLIED = 5;
/** A maintenance command's result (see `store/maintenance-command.ts`). */
const MAINTENANCE_APPLIED = 16;
/** A write refused on apply (a reason code and the revision follow). */
const REFUSED = 17;
const REFUSAL_REASONS: readonly RefusalReason[] = ['no_space', 'compacted', 'future_revision'];

/** The status byte of a refusal: its reason code, detail and retry advice follow. */
const LEADER_REFUSED = 18;

function writeRefusal(writer: BinaryWriter, refusal: ForwardRefusal): void {
  writer.writeByte(LEADER_REFUSED);
  writer.writeByte(FORWARD_REFUSAL_REASONS.indexOf(refusal.reason));
  writer.writeUtf8(refusal.detail);
  writer.writeVarint(refusal.retryAfterSeconds);
}

/** Reads a refusal after its status byte; every bound is checked before anything is allocated. */
function readRefusal(reader: BinaryReader): ForwardRefusal {
  const code = reader.readByte();
  const reason = FORWARD_REFUSAL_REASONS[code];
  if (reason === undefined) throw new MalformedEncodingError(`unknown refusal reason ${code}`);
  const detail = reader.readUtf8(MAX_REFUSAL_DETAIL_BYTES);
  const retryAfterSeconds = reader.readVarint();
  if (retryAfterSeconds > MAX_REFUSAL_RETRY_AFTER_SECONDS) {
    throw new MalformedEncodingError(`retry-after of ${retryAfterSeconds} s over its bound`);
  }
  return new ForwardRefusal(reason, detail, retryAfterSeconds);
}

/** A read-barrier request: its correlation id. */
export function encodeReadRequest(correlationId: number): Uint8Array {
  const writer = new BinaryWriter(10);
  writer.writeVarint(correlationId);
  return writer.finish();
}

/** Decodes {@link encodeReadRequest} to the correlation id. @throws MalformedEncodingError */
export function decodeReadRequest(payload: Uint8Array): number {
  const reader = new BinaryReader(payload);
  const correlationId = reader.readVarint();
  if (!reader.atEnd) throw new MalformedEncodingError('trailing bytes after a read request');
  return correlationId;
}

function writeWriteAnswer(writer: BinaryWriter, answer: WriteAnswer): void {
  const { correlationId, outcome } = answer;
  writer.writeVarint(correlationId);
  if (outcome instanceof ForwardRefusal) {
    writeRefusal(writer, outcome);
  } else if (outcome.status === 'rejected') {
    writer.writeByte(REJECTED);
    writer.writeUtf8(outcome.requestId);
  } else if (outcome.status === 'auth') {
    writer.writeByte(AUTH_APPLIED);
    encodeAuthResult(writer, outcome.result);
  } else if (outcome.status === 'lease') {
    writer.writeByte(LEASE_APPLIED);
    encodeLeaseResult(writer, outcome.result);
  } else if (outcome.status === 'maintenance') {
    writer.writeByte(MAINTENANCE_APPLIED);
    encodeMaintenanceResult(writer, outcome.result);
  } else if (outcome.status === 'refused') {
    writer.writeByte(REFUSED);
    writer.writeByte(REFUSAL_REASONS.indexOf(outcome.reason));
    writer.writeVarint(outcome.revision);
  } else {
    writer.writeByte(outcome.status === 'applied' ? APPLIED : REPLAYED);
    encodeResponseOp(writer, outcome.result);
  }
}

function readWriteAnswer(reader: BinaryReader): WriteAnswer {
  const correlationId = reader.readVarint();
  const status = reader.readByte();
  switch (status) {
    case LEADER_REFUSED:
      return { correlationId, outcome: readRefusal(reader) };
    case REJECTED:
      return {
        correlationId,
        outcome: {
          status: 'rejected',
          reason: 'idempotency_key_reused',
          requestId: reader.readUtf8(),
        },
      };
    case AUTH_APPLIED:
      return { correlationId, outcome: { status: 'auth', result: decodeAuthResult(reader) } };
    case LEASE_APPLIED:
      return { correlationId, outcome: { status: 'lease', result: decodeLeaseResult(reader) } };
    case MAINTENANCE_APPLIED:
      return {
        correlationId,
        outcome: { status: 'maintenance', result: decodeMaintenanceResult(reader) },
      };
    case REFUSED: {
      const reason = REFUSAL_REASONS[reader.readByte()];
      if (reason === undefined) throw new MalformedEncodingError('unknown refusal reason');
      return {
        correlationId,
        outcome: { status: 'refused', reason, revision: reader.readVarint() },
      };
    }
    case APPLIED:
    case REPLAYED: {
      const result = decodeResponseOp(reader);
      if (result.type === 'range' || result.type === 'rangeNotRead') {
        throw new MalformedEncodingError('range result for a write');
      }
      return {
        correlationId,
        outcome: { status: status === APPLIED ? 'applied' : 'replayed', result },
      };
    }
    default:
      throw new MalformedEncodingError(`unknown write status ${status}`);
  }
}

/** Several forwarded writes: a count, then each correlation id and command. */
export function encodeWriteBatchRequest(writes: readonly ForwardedWrite[]): Uint8Array {
  let capacity = 8;
  for (const write of writes) capacity += 16 + write.command.byteLength;
  const writer = new BinaryWriter(capacity);
  writer.writeVarint(writes.length);
  for (const write of writes) {
    writer.writeVarint(write.correlationId);
    writer.writeBytes(write.command);
  }
  return writer.finish();
}

/**
 * Decodes {@link encodeWriteBatchRequest}; the commands are views of `payload`.
 *
 * @throws MalformedEncodingError
 */
export function decodeWriteBatchRequest(payload: Uint8Array): ForwardedWrite[] {
  const reader = new BinaryReader(payload);
  const count = reader.readVarint();
  // Every write takes at least two bytes: a count beyond that is malformed, not a huge array.
  if (count > payload.byteLength) throw new MalformedEncodingError(`bad write count ${count}`);
  const writes: ForwardedWrite[] = [];
  for (let index = 0; index < count; index++) {
    const correlationId = reader.readVarint();
    writes.push({ correlationId, command: reader.readBytes() });
  }
  if (!reader.atEnd) throw new MalformedEncodingError('trailing bytes after a write batch');
  return writes;
}

/** Several answers to forwarded writes in one message. */
export function encodeWriteBatchResponse(answers: readonly WriteAnswer[]): Uint8Array {
  const writer = new BinaryWriter(8 + 48 * answers.length);
  writer.writeVarint(answers.length);
  for (const answer of answers) writeWriteAnswer(writer, answer);
  return writer.finish();
}

/** Decodes {@link encodeWriteBatchResponse}. @throws MalformedEncodingError */
export function decodeWriteBatchResponse(payload: Uint8Array): WriteAnswer[] {
  const reader = new BinaryReader(payload);
  const count = reader.readVarint();
  if (count > payload.byteLength) throw new MalformedEncodingError(`bad answer count ${count}`);
  const answers: WriteAnswer[] = [];
  for (let index = 0; index < count; index++) answers.push(readWriteAnswer(reader));
  if (!reader.atEnd) throw new MalformedEncodingError('trailing bytes after write answers');
  return answers;
}

/** The answer to a forwarded read barrier: the index to wait for, or a refusal. */
export function encodeReadResponse(
  correlationId: number,
  outcome: ForwardedOutcome<number>,
): Uint8Array {
  const writer = new BinaryWriter(32);
  writer.writeVarint(correlationId);
  if (outcome instanceof ForwardRefusal) {
    writeRefusal(writer, outcome);
  } else {
    writer.writeByte(APPLIED);
    writer.writeVarint(outcome);
  }
  return writer.finish();
}

/** Decodes {@link encodeReadResponse}. @throws MalformedEncodingError */
export function decodeReadResponse(payload: Uint8Array): {
  correlationId: number;
  outcome: ForwardedOutcome<number>;
} {
  const reader = new BinaryReader(payload);
  const correlationId = reader.readVarint();
  const status = reader.readByte();
  if (status !== LEADER_REFUSED && status !== APPLIED) {
    throw new MalformedEncodingError(`unknown read status ${status}`);
  }
  const outcome = status === LEADER_REFUSED ? readRefusal(reader) : reader.readVarint();
  if (!reader.atEnd) throw new MalformedEncodingError('trailing bytes after a read answer');
  return { correlationId, outcome };
}

const LEASE_QUERY_OPS = ['keepAlive', 'timeToLive'] as const;
const LEASE_NOT_FOUND = 6;

/** A lease question for the leader. */
export function encodeLeaseQueryRequest(correlationId: number, query: LeaseQuery): Uint8Array {
  const writer = new BinaryWriter(40);
  writer.writeVarint(correlationId);
  writer.writeByte(LEASE_QUERY_OPS.indexOf(query.op));
  writer.writeUtf8(query.id);
  return writer.finish();
}

/** Decodes {@link encodeLeaseQueryRequest}. @throws MalformedEncodingError */
export function decodeLeaseQueryRequest(payload: Uint8Array): {
  correlationId: number;
  query: LeaseQuery;
} {
  const reader = new BinaryReader(payload);
  const correlationId = reader.readVarint();
  const code = reader.readByte();
  const op = LEASE_QUERY_OPS[code];
  if (op === undefined) throw new MalformedEncodingError(`unknown lease question ${code}`);
  const id = reader.readUtf8();
  if (parseLeaseId(id) !== id) throw new MalformedEncodingError(`bad lease id "${id}"`);
  if (!reader.atEnd) throw new MalformedEncodingError('trailing bytes after a lease question');
  return { correlationId, query: { op, id } };
}

/** The leader's answer to a lease question. */
export function encodeLeaseQueryResponse(
  correlationId: number,
  outcome: ForwardedOutcome<LeaseAnswer>,
): Uint8Array {
  const writer = new BinaryWriter(32);
  writer.writeVarint(correlationId);
  if (outcome instanceof ForwardRefusal) {
    writeRefusal(writer, outcome);
  } else if (outcome === undefined) {
    writer.writeByte(LEASE_NOT_FOUND);
  } else {
    writer.writeByte(APPLIED);
    writer.writeVarint(outcome.grantedSeconds);
    writer.writeVarint(outcome.remainingSeconds);
  }
  return writer.finish();
}

/** Decodes {@link encodeLeaseQueryResponse}. @throws MalformedEncodingError */
export function decodeLeaseQueryResponse(payload: Uint8Array): {
  correlationId: number;
  outcome: ForwardedOutcome<LeaseAnswer>;
} {
  const reader = new BinaryReader(payload);
  const correlationId = reader.readVarint();
  const status = reader.readByte();
  let outcome: ForwardedOutcome<LeaseAnswer>;
  if (status === LEADER_REFUSED) outcome = readRefusal(reader);
  else if (status === LEASE_NOT_FOUND) outcome = undefined;
  else if (status === APPLIED) {
    outcome = { grantedSeconds: reader.readVarint(), remainingSeconds: reader.readVarint() };
  } else throw new MalformedEncodingError(`unknown lease answer status ${status}`);
  if (!reader.atEnd) throw new MalformedEncodingError('trailing bytes after a lease answer');
  return { correlationId, outcome };
}
