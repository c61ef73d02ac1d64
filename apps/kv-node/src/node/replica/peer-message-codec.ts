/**
 * Binary encoding of `@x/leader-follower` messages for the peer transport (the package does not
 * export its own codec yet). Tags are the ones `@x/leader-follower` uses (0x4c01-0x4c09).
 */

import type { LogEntry, Message } from '@x/leader-follower';
import { BinaryReader } from '../../codec/binary-reader.js';
import { BinaryWriter } from '../../codec/binary-writer.js';

/** Message-type tags on the transport. */
export const PEER_MESSAGE_TYPES: Record<Message['kind'], number> = {
  'vote-request': 0x4c01,
  'vote-response': 0x4c02,
  append: 0x4c03,
  'append-response': 0x4c04,
  heartbeat: 0x4c05,
  'heartbeat-response': 0x4c06,
  'snapshot-chunk': 0x4c07,
  'snapshot-response': 0x4c08,
  'timeout-now': 0x4c09,
};

const flags = (...values: boolean[]): number =>
  values.reduce((bits, value, index) => bits | (value ? 1 << index : 0), 0);

/** Encodes a message as a transport type and payload. */
export function encodePeerMessage(message: Message): { type: number; payload: Uint8Array } {
  const entryBytes =
    message.kind === 'append'
      ? message.entries.reduce((sum, entry) => sum + entry.command.byteLength + 24, 0)
      : message.kind === 'snapshot-chunk'
        ? message.data.byteLength
        : 0;
  const writer = new BinaryWriter(64 + entryBytes);
  writer.writeVarint(message.generation);
  switch (message.kind) {
    case 'vote-request':
      writer.writeByte(flags(message.preVote, message.leadershipTransfer));
      writer.writeVarint(message.lastLogIndex);
      writer.writeVarint(message.lastLogGeneration);
      break;
    case 'vote-response':
      writer.writeByte(flags(message.preVote, message.granted));
      break;
    case 'append':
      writer.writeVarint(message.prevIndex);
      writer.writeVarint(message.prevGeneration);
      writer.writeVarint(message.highWaterMark);
      writer.writeVarint(message.entries.length);
      for (const entry of message.entries) {
        writer.writeVarint(entry.index);
        writer.writeVarint(entry.generation);
        writer.writeByte(entry.kind === 'empty' ? 0 : 1);
        writer.writeBytes(entry.command);
      }
      break;
    case 'append-response':
      writer.writeByte(flags(message.rejected));
      writer.writeVarint(message.index);
      writer.writeVarint(message.hintIndex);
      writer.writeVarint(message.hintGeneration);
      break;
    case 'heartbeat':
      writer.writeVarint(message.highWaterMark);
      writer.writeVarint(message.readRound);
      break;
    case 'heartbeat-response':
      writer.writeVarint(message.readRound);
      break;
    case 'snapshot-chunk':
      writer.writeVarint(message.snapshotIndex);
      writer.writeVarint(message.snapshotGeneration);
      writer.writeVarint(message.offset);
      writer.writeVarint(message.totalBytes);
      writer.writeBytes(message.data);
      break;
    case 'snapshot-response':
      writer.writeByte(flags(message.rejected));
      writer.writeVarint(message.snapshotIndex);
      writer.writeVarint(message.nextOffset);
      writer.writeVarint(message.installedIndex);
      break;
    case 'timeout-now':
      break;
  }
  return { type: PEER_MESSAGE_TYPES[message.kind], payload: writer.finish() };
}

const KIND_BY_TYPE = new Map(
  Object.entries(PEER_MESSAGE_TYPES).map(([kind, type]) => [type, kind as Message['kind']]),
);

/**
 * Decodes a message; `undefined` for a type that is not a leader-follower message.
 *
 * @throws MalformedEncodingError when the payload is malformed.
 */
export function decodePeerMessage(type: number, payload: Uint8Array): Message | undefined {
  const kind = KIND_BY_TYPE.get(type);
  if (kind === undefined) return undefined;
  const reader = new BinaryReader(payload);
  const generation = reader.readVarint();
  const bit = (bits: number, index: number): boolean => (bits & (1 << index)) !== 0;
  switch (kind) {
    case 'vote-request': {
      const bits = reader.readByte();
      return {
        kind,
        generation,
        preVote: bit(bits, 0),
        leadershipTransfer: bit(bits, 1),
        lastLogIndex: reader.readVarint(),
        lastLogGeneration: reader.readVarint(),
      };
    }
    case 'vote-response': {
      const bits = reader.readByte();
      return { kind, generation, preVote: bit(bits, 0), granted: bit(bits, 1) };
    }
    case 'append': {
      const prevIndex = reader.readVarint();
      const prevGeneration = reader.readVarint();
      const highWaterMark = reader.readVarint();
      const count = reader.readVarint();
      const entries: LogEntry[] = [];
      for (let index = 0; index < count; index++) {
        const entryIndex = reader.readVarint();
        const entryGeneration = reader.readVarint();
        const entryKind = reader.readByte() === 0 ? 'empty' : 'command';
        entries.push({
          index: entryIndex,
          generation: entryGeneration,
          kind: entryKind,
          command: reader.readBytes(),
        });
      }
      return { kind, generation, prevIndex, prevGeneration, highWaterMark, entries };
    }
    case 'append-response': {
      const bits = reader.readByte();
      return {
        kind,
        generation,
        rejected: bit(bits, 0),
        index: reader.readVarint(),
        hintIndex: reader.readVarint(),
        hintGeneration: reader.readVarint(),
      };
    }
    case 'heartbeat':
      return {
        kind,
        generation,
        highWaterMark: reader.readVarint(),
        readRound: reader.readVarint(),
      };
    case 'heartbeat-response':
      return { kind, generation, readRound: reader.readVarint() };
    case 'snapshot-chunk':
      return {
        kind,
        generation,
        snapshotIndex: reader.readVarint(),
        snapshotGeneration: reader.readVarint(),
        offset: reader.readVarint(),
        totalBytes: reader.readVarint(),
        data: reader.readBytes(),
      };
    case 'snapshot-response': {
      const bits = reader.readByte();
      return {
        kind,
        generation,
        rejected: bit(bits, 0),
        snapshotIndex: reader.readVarint(),
        nextOffset: reader.readVarint(),
        installedIndex: reader.readVarint(),
      };
    }
    case 'timeout-now':
      return { kind, generation };
  }
}
