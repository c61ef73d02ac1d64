/**
 * The peer protocol of quorum mode: JSON requests and answers on the peer transport, under
 * kv-node's reserved message types. Keys and values are byte strings (latin1), which JSON carries
 * as they are. Every decoder checks what it reads: peers are authenticated, not trusted to be bug-free.
 */

import type { ByteString } from '../store/byte-string.js';
import { KV_NODE_MESSAGE_TYPE_BASE } from '../node/transport.js';
import { decodeValueVersion, encodeValueVersion } from './value-version.js';
import type { StoredValue } from './value-version.js';
import type { StoredEntry } from './quorum-replica-store.js';

/** Message types of quorum mode (a block of kv-node's reserved range). */
export const QuorumMessageType = {
  /** Request: this member's replication settings; the answer is the peer's. */
  hello: KV_NODE_MESSAGE_TYPE_BASE + 0x20,
  /** Request: the stored value of one key. */
  read: KV_NODE_MESSAGE_TYPE_BASE + 0x21,
  /** Request: store a versioned value (or tombstone) unless a newer one is stored. */
  write: KV_NODE_MESSAGE_TYPE_BASE + 0x22,
  /** Request: stored values of a key range. */
  range: KV_NODE_MESSAGE_TYPE_BASE + 0x23,
  /** One-way: I am alive (feeds the phi-accrual failure detector). */
  heartbeat: KV_NODE_MESSAGE_TYPE_BASE + 0x24,
  /** Request (anti-entropy): the digest of each key bucket. */
  digests: KV_NODE_MESSAGE_TYPE_BASE + 0x25,
  /** Request (anti-entropy): the stored entries of one key bucket. */
  bucket: KV_NODE_MESSAGE_TYPE_BASE + 0x26,
  /** Answer to any request. */
  answer: KV_NODE_MESSAGE_TYPE_BASE + 0x2f,
} as const;

/** Whether a message type belongs to quorum mode. */
export function isQuorumMessageType(type: number): boolean {
  return type >= QuorumMessageType.hello && type <= QuorumMessageType.answer;
}

/** What members of one cluster must agree on. */
export interface ReplicationSettings {
  readonly mode: 'quorum';
  /** Member names, sorted. */
  readonly members: readonly string[];
  readonly readQuorum: number;
  readonly writeQuorum: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON payload of a message. */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses a JSON payload into an object. @throws TypeError when it is not one. */
export function decodeJson(payload: Uint8Array): Record<string, unknown> {
  const value = JSON.parse(decoder.decode(payload)) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('expected a JSON object');
  }
  return value as Record<string, unknown>;
}

/** A stored value on the wire. */
export interface WireStoredValue {
  readonly value: ByteString | null;
  readonly version: string;
}

/** Encodes a stored value for the wire. */
export function toWire(stored: StoredValue): WireStoredValue {
  return { value: stored.value, version: encodeValueVersion(stored.version) };
}

/** Decodes a stored value from the wire. @throws TypeError when malformed. */
export function fromWire(wire: unknown): StoredValue {
  if (typeof wire !== 'object' || wire === null) throw new TypeError('expected a stored value');
  const { value, version } = wire as Record<string, unknown>;
  if (value !== null && typeof value !== 'string') throw new TypeError('value must be a string');
  return { value, version: decodeValueVersion(version) };
}

/** Reads a byte-string field. @throws TypeError when missing. */
export function keyField(body: Record<string, unknown>, name: string): ByteString {
  const value = body[name];
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string`);
  return value;
}

/** Decodes a range answer. @throws TypeError when malformed. */
export function decodeRangeAnswer(body: Record<string, unknown>): StoredEntry[] {
  const entries = body['entries'];
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array');
  return entries.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) throw new TypeError('bad entry');
    const record = entry as Record<string, unknown>;
    return { key: keyField(record, 'key'), stored: fromWire(record['stored']) };
  });
}

/** Decodes replication settings. @throws TypeError when malformed. */
export function decodeSettings(body: Record<string, unknown>): ReplicationSettings {
  const { mode, members, readQuorum, writeQuorum } = body;
  if (
    mode !== 'quorum' ||
    !Array.isArray(members) ||
    !members.every((member) => typeof member === 'string') ||
    typeof readQuorum !== 'number' ||
    typeof writeQuorum !== 'number'
  ) {
    throw new TypeError(`not quorum-mode settings: ${JSON.stringify(body).slice(0, 200)}`);
  }
  return { mode, members: members, readQuorum, writeQuorum };
}

/** How two members' settings differ, or `undefined` when they agree. */
export function settingsMismatch(
  mine: ReplicationSettings,
  theirs: ReplicationSettings,
): string | undefined {
  if (mine.members.join(',') !== theirs.members.join(',')) {
    return `members differ (${mine.members.join(',')} here, ${theirs.members.join(',')} there)`;
  }
  if (mine.readQuorum !== theirs.readQuorum || mine.writeQuorum !== theirs.writeQuorum) {
    return (
      `quorums differ (R=${mine.readQuorum} W=${mine.writeQuorum} here, ` +
      `R=${theirs.readQuorum} W=${theirs.writeQuorum} there)`
    );
  }
  return undefined;
}
