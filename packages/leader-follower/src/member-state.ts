// What a member keeps beside its generation and vote, in the generation file's attachment
// (@x/generation-clock): its storage identity, the index it recorded as durably acknowledged,
// the storage identities of its peers, and whether a peer found its storage replaced.
import type { NodeId } from './messages.js';

/** The durable facts a member keeps about its storage and its peers' (see the README). */
export interface MemberState {
  /** A random id created with this member's storage (32 hex digits). */
  readonly storageId: string;
  /** The log must never end before this index (see `LeaderFollowerCore.acknowledgedIndex`). */
  readonly acknowledgedIndex: number;
  /** Peers' storage identities, as first seen. */
  readonly peerStorageIds: ReadonlyMap<NodeId, string>;
  /** Set once a peer reported this storage as replaced: the member never starts on it again. */
  readonly lostReportedBy?: NodeId;
}

/** The member state could not be read from the generation file's attachment. */
export class MemberStateCorruptError extends Error {
  override readonly name = 'MemberStateCorruptError';
  constructor(
    /** The generation file. */
    readonly file: string,
    /** What is wrong. */
    readonly reason: string,
  ) {
    super(`member state in ${file} is unreadable: ${reason}; restore the data directory`);
  }
}

const FORMAT = 1;
const MAX_TEXT_CHARS = 256;
const MAX_PEERS = 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes a member state as the bytes of a generation-file attachment (JSON, UTF-8). */
export function encodeMemberState(state: MemberState): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      format: FORMAT,
      storageId: state.storageId,
      acknowledgedIndex: state.acknowledgedIndex,
      peers: Object.fromEntries(state.peerStorageIds),
      ...(state.lostReportedBy === undefined ? {} : { lostReportedBy: state.lostReportedBy }),
    }),
  );
}

/**
 * Decodes an attachment written by {@link encodeMemberState}. The generation file bounds it to
 * 64 KiB and checksums it; this checks every field's type and bounds.
 * @throws MemberStateCorruptError naming `file` when it is not a valid member state.
 */
export function decodeMemberState(bytes: Uint8Array, file: string): MemberState {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new MemberStateCorruptError(file, `not UTF-8 JSON (${(error as Error).message})`);
  }
  const fail = (reason: string): never => {
    throw new MemberStateCorruptError(file, reason);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const record = value as Record<string, unknown>;
  if (record.format !== FORMAT) return fail(`unknown format ${String(record.format)}`);
  const storageId = shortText(record.storageId) ?? fail('storageId is not a short string');
  const acknowledgedIndex = record.acknowledgedIndex;
  if (
    typeof acknowledgedIndex !== 'number' ||
    !Number.isSafeInteger(acknowledgedIndex) ||
    acknowledgedIndex < 0
  ) {
    return fail('acknowledgedIndex is not a non-negative safe integer');
  }
  const peers = record.peers;
  if (typeof peers !== 'object' || peers === null || Array.isArray(peers)) {
    return fail('peers is not an object');
  }
  const entries = Object.entries(peers as Record<string, unknown>);
  if (entries.length > MAX_PEERS) return fail(`more than ${MAX_PEERS} peers`);
  const peerStorageIds = new Map<NodeId, string>();
  for (const [member, id] of entries) {
    peerStorageIds.set(member, shortText(id) ?? fail(`peer ${member} has no valid storage id`));
  }
  const lostReportedBy =
    record.lostReportedBy === undefined
      ? undefined
      : (shortText(record.lostReportedBy) ?? fail('lostReportedBy is not a short string'));
  return {
    storageId,
    acknowledgedIndex,
    peerStorageIds,
    ...(lostReportedBy === undefined ? {} : { lostReportedBy }),
  };
}

function shortText(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TEXT_CHARS
    ? value
    : undefined;
}
