import { crc32c } from './crc32c.js';
import type { GenerationState } from './generation-state.js';

// One record, little-endian:
//   0  magic "XGEN"           4 bytes
//   4  format version (1)     u8
//   5  flags (bit 0: a vote)  u8
//   6  vote length in bytes   u16
//   8  generation             u64 (at most 2^53 - 1)
//  16  vote, UTF-8            vote length bytes
//  ..  CRC-32C of all above   u32
const magic = [0x58, 0x47, 0x45, 0x4e];
const formatVersion = 1;
const headerBytes = 16;
const checksumBytes = 4;
const hasVote = 1;

/** The longest vote (candidate id) a record can hold, in UTF-8 bytes. */
export const maxVoteBytes = 0xffff;

/** The longest record, in bytes: a file longer than this is not one (refused before reading it). */
export const maxRecordBytes = headerBytes + maxVoteBytes + checksumBytes;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes a state as one self-checking record.
 *
 * @throws RangeError if the vote is longer than {@link maxVoteBytes} in UTF-8
 */
export function encodeGenerationState(state: GenerationState): Uint8Array {
  const vote = state.votedFor === undefined ? new Uint8Array(0) : encoder.encode(state.votedFor);
  if (vote.length > maxVoteBytes) {
    throw new RangeError(`votedFor is ${vote.length} bytes in UTF-8; at most ${maxVoteBytes} fit`);
  }
  const record = new Uint8Array(headerBytes + vote.length + checksumBytes);
  const view = new DataView(record.buffer);
  record.set(magic, 0);
  view.setUint8(4, formatVersion);
  view.setUint8(5, state.votedFor === undefined ? 0 : hasVote);
  view.setUint16(6, vote.length, true);
  view.setBigUint64(8, BigInt(state.generation), true);
  record.set(vote, headerBytes);
  view.setUint32(headerBytes + vote.length, crc32c(record, 0, headerBytes + vote.length), true);
  return record;
}

/**
 * Decodes a record written by {@link encodeGenerationState}.
 *
 * @returns the state, or a string saying why the bytes are not a valid record
 */
export function decodeGenerationState(record: Uint8Array): GenerationState | string {
  if (record.length < headerBytes + checksumBytes) return `${record.length} bytes is too short`;
  if (magic.some((byte, i) => record[i] !== byte)) return 'not a generation file (bad magic)';
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const voteLength = view.getUint16(6, true);
  const expectedLength = headerBytes + voteLength + checksumBytes;
  if (record.length !== expectedLength) {
    return `${record.length} bytes where the header announces ${expectedLength}`;
  }
  const stored = view.getUint32(headerBytes + voteLength, true);
  if (stored !== crc32c(record, 0, headerBytes + voteLength)) return 'checksum mismatch';
  // Checked after the checksum: a valid checksum with these wrong means a newer or foreign writer.
  const version = view.getUint8(4);
  if (version !== formatVersion) return `unsupported format version ${version}`;
  const flags = view.getUint8(5);
  if ((flags & ~hasVote) !== 0 || (flags === 0 && voteLength !== 0))
    return `invalid flags ${flags}`;
  const generation = view.getBigUint64(8, true);
  if (generation > BigInt(Number.MAX_SAFE_INTEGER)) return `generation ${generation} is too large`;
  if (flags === 0) return { generation: Number(generation) };
  try {
    const votedFor = decoder.decode(record.subarray(headerBytes, headerBytes + voteLength));
    return { generation: Number(generation), votedFor };
  } catch {
    return 'vote is not valid UTF-8';
  }
}
