import { crc32c } from './crc32c.js';
import type { GenerationState } from './generation-state.js';
import { maxAttachmentBytes } from './generation-state.js';

// One record, little-endian:
//   0  magic "XGEN"           4 bytes
//   4  format version (1)     u8
//   5  flags (bit 0: a vote)  u8
//   6  vote length in bytes   u16
//   8  generation             u64 (at most 2^53 - 1)
//  16  vote, UTF-8            vote length bytes
//  version 2 only (written when the state has an attachment):
//  ..  attachment length      u32 (at most maxAttachmentBytes)
//  ..  attachment             attachment length bytes
//  ..  CRC-32C of all above   u32
const magic = [0x58, 0x47, 0x45, 0x4e];
const formatVersion = 1;
const formatVersionWithAttachment = 2;
const attachmentLengthBytes = 4;
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
 * Format version 1 without an attachment (so files stay readable by older releases), version 2
 * with one.
 *
 * @throws RangeError if the vote is longer than {@link maxVoteBytes} in UTF-8 or the attachment
 *   longer than {@link maxAttachmentBytes}
 */
export function encodeGenerationState(state: GenerationState): Uint8Array {
  const vote = state.votedFor === undefined ? new Uint8Array(0) : encoder.encode(state.votedFor);
  if (vote.length > maxVoteBytes) {
    throw new RangeError(`votedFor is ${vote.length} bytes in UTF-8; at most ${maxVoteBytes} fit`);
  }
  const attachment = state.attachment;
  if (attachment !== undefined && attachment.length > maxAttachmentBytes) {
    throw new RangeError(
      `attachment is ${attachment.length} bytes; at most ${maxAttachmentBytes} fit`,
    );
  }
  const extraBytes = attachment === undefined ? 0 : attachmentLengthBytes + attachment.length;
  const bodyBytes = headerBytes + vote.length + extraBytes;
  const record = new Uint8Array(bodyBytes + checksumBytes);
  const view = new DataView(record.buffer);
  record.set(magic, 0);
  view.setUint8(4, attachment === undefined ? formatVersion : formatVersionWithAttachment);
  view.setUint8(5, state.votedFor === undefined ? 0 : hasVote);
  view.setUint16(6, vote.length, true);
  view.setBigUint64(8, BigInt(state.generation), true);
  record.set(vote, headerBytes);
  if (attachment !== undefined) {
    view.setUint32(headerBytes + vote.length, attachment.length, true);
    record.set(attachment, headerBytes + vote.length + attachmentLengthBytes);
  }
  view.setUint32(bodyBytes, crc32c(record, 0, bodyBytes), true);
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
  const version = view.getUint8(4);
  let attachmentLength = -1;
  if (version === formatVersionWithAttachment) {
    if (record.length < headerBytes + voteLength + attachmentLengthBytes + checksumBytes) {
      return `${record.length} bytes is too short for a vote of ${voteLength} and an attachment`;
    }
    attachmentLength = view.getUint32(headerBytes + voteLength, true);
    // Bounded before anything is sized by it.
    if (attachmentLength > maxAttachmentBytes) {
      return `attachment of ${attachmentLength} bytes exceeds ${maxAttachmentBytes}`;
    }
  }
  const bodyBytes =
    headerBytes +
    voteLength +
    (attachmentLength < 0 ? 0 : attachmentLengthBytes + attachmentLength);
  const expectedLength = bodyBytes + checksumBytes;
  if (record.length !== expectedLength) {
    return `${record.length} bytes where the header announces ${expectedLength}`;
  }
  const stored = view.getUint32(bodyBytes, true);
  if (stored !== crc32c(record, 0, bodyBytes)) return 'checksum mismatch';
  // Checked after the checksum: a valid checksum with these wrong means a newer or foreign writer.
  if (version !== formatVersion && version !== formatVersionWithAttachment) {
    return `unsupported format version ${version}`;
  }
  const flags = view.getUint8(5);
  if ((flags & ~hasVote) !== 0 || (flags === 0 && voteLength !== 0))
    return `invalid flags ${flags}`;
  const generation = view.getBigUint64(8, true);
  if (generation > BigInt(Number.MAX_SAFE_INTEGER)) return `generation ${generation} is too large`;
  const attachment =
    attachmentLength < 0
      ? undefined
      : record.slice(
          headerBytes + voteLength + attachmentLengthBytes,
          headerBytes + voteLength + attachmentLengthBytes + attachmentLength,
        );
  const withAttachment = attachment === undefined ? {} : { attachment };
  if (flags === 0) return { generation: Number(generation), ...withAttachment };
  try {
    const votedFor = decoder.decode(record.subarray(headerBytes, headerBytes + voteLength));
    return { generation: Number(generation), votedFor, ...withAttachment };
  } catch {
    return 'vote is not valid UTF-8';
  }
}
