import type { EntryKind, LogEntry } from './log-entry.js';
import type { Message } from './messages.js';
import {
  ConfigurationError,
  decodeConfiguration,
  encodeConfiguration,
} from './cluster-configuration.js';
import type { ClusterConfiguration } from './cluster-configuration.js';

/**
 * Transport message-type tags (unsigned 16-bit) used by leader-follower messages. Other users of
 * the same transport must pick different tags.
 */
export const MESSAGE_TYPES = {
  'vote-request': 0x4c01,
  'vote-response': 0x4c02,
  append: 0x4c03,
  'append-response': 0x4c04,
  heartbeat: 0x4c05,
  'heartbeat-response': 0x4c06,
  'snapshot-chunk': 0x4c07,
  'snapshot-response': 0x4c08,
  'timeout-now': 0x4c09,
  'storage-lost': 0x4c0a,
} as const satisfies Record<Message['kind'], number>;

/**
 * The type tag of a `snapshot-chunk` that carries its snapshot's configuration (a length-prefixed
 * configuration before the data). A chunk without one keeps the tag of
 * `MESSAGE_TYPES['snapshot-chunk']`, so members of earlier releases still read it.
 */
export const CONFIGURED_SNAPSHOT_CHUNK_TYPE = 0x4c0b;

/** Longest encoded configuration a snapshot chunk carries, in bytes (64 ids of 255 bytes). */
const MAX_CONFIGURATION_BYTES = 3 + 64 * 256;

/** Thrown when a payload is not a well-formed leader-follower message. */
export class MessageDecodeError extends Error {
  override readonly name = 'MessageDecodeError';
}

const TWO_TO_32 = 4294967296;
/** Longest storage identity on the wire, in UTF-8 bytes (a random id is 32 hex digits). */
export const MAX_STORAGE_ID_BYTES = 64;
/** Most member identities one heartbeat carries. */
export const MAX_HEARTBEAT_STORAGE_IDS = 64;
/** Longest member id in a heartbeat's identity table, in UTF-8 bytes. */
const MAX_MEMBER_ID_BYTES = 255;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Most identities {@link identityBytes} remembers before it starts afresh. */
const MAX_REMEMBERED_IDENTITIES = 256;
/** UTF-8 bytes of member ids and storage identities already encoded (never mutated). */
const rememberedIdentities = new Map<string, Uint8Array>();

/**
 * The UTF-8 bytes of a member id or storage identity. A cluster has a handful of them and every
 * answer and heartbeat carries some, so they are encoded once, not once per message.
 */
function identityBytes(text: string): Uint8Array {
  let bytes = rememberedIdentities.get(text);
  if (bytes === undefined) {
    if (rememberedIdentities.size >= MAX_REMEMBERED_IDENTITIES) rememberedIdentities.clear();
    bytes = utf8.encode(text);
    rememberedIdentities.set(text, bytes);
  }
  return bytes;
}

/** The UTF-8 bytes of a storage identity ('' when absent). @throws RangeError when too long. */
function storageIdBytes(storageId: string | undefined): Uint8Array {
  const bytes = identityBytes(storageId ?? '');
  if (bytes.length > MAX_STORAGE_ID_BYTES) {
    throw new RangeError(
      `storage identity of ${bytes.length} bytes exceeds ${MAX_STORAGE_ID_BYTES}`,
    );
  }
  return bytes;
}
const ENTRY_HEADER_BYTES = 8 + 1 + 4; // generation, kind, command length

const KIND_CODES: Record<EntryKind, number> = { empty: 0, command: 1, configuration: 2 };
const KINDS: readonly EntryKind[] = ['empty', 'command', 'configuration'];

/** A configuration entry's bytes must decode (bounded), so a malformed one never reaches a log. */
function checkConfigurationBytes(bytes: Uint8Array): ClusterConfiguration {
  try {
    return decodeConfiguration(bytes);
  } catch (error) {
    if (error instanceof ConfigurationError) throw new MessageDecodeError(error.message);
    throw error;
  }
}

/** A cursor over a payload; numbers above 2^32 are written as two big-endian 32-bit halves. */
class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(value: number): void {
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }

  u32(value: number): void {
    this.view.setUint32(this.offset, value);
    this.offset += 4;
  }

  u64(value: number): void {
    this.view.setUint32(this.offset, Math.floor(value / TWO_TO_32));
    this.view.setUint32(this.offset + 4, value >>> 0);
    this.offset += 8;
  }

  raw(data: Uint8Array): void {
    this.bytes.set(data, this.offset);
    this.offset += data.length;
  }

  /** A short string: one length byte, then its UTF-8 bytes (from {@link storageIdBytes}). */
  shortText(bytes: Uint8Array): void {
    this.u8(bytes.length);
    this.raw(bytes);
  }
}

class Reader {
  private readonly view: DataView;
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(count: number): void {
    if (this.offset + count > this.bytes.length) {
      throw new MessageDecodeError(`payload truncated at byte ${this.offset}`);
    }
  }

  u8(): number {
    this.need(1);
    const value = this.view.getUint8(this.offset);
    this.offset += 1;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): number {
    this.need(8);
    const value =
      this.view.getUint32(this.offset) * TWO_TO_32 + this.view.getUint32(this.offset + 4);
    this.offset += 8;
    if (!Number.isSafeInteger(value)) throw new MessageDecodeError('number beyond 2^53');
    return value;
  }

  /** A view into the payload (no copy: the receiver owns the payload). */
  view_(length: number): Uint8Array {
    this.need(length);
    const data = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return data;
  }

  /** A short string written by `Writer.shortText`, bounded by `maxBytes` (default {@link MAX_STORAGE_ID_BYTES}). */
  shortText(maxBytes = MAX_STORAGE_ID_BYTES): string {
    const length = this.u8();
    if (length > maxBytes) {
      throw new MessageDecodeError(`identity of ${length} bytes exceeds ${maxBytes}`);
    }
    try {
      return fromUtf8.decode(this.view_(length));
    } catch (error) {
      if (error instanceof MessageDecodeError) throw error;
      throw new MessageDecodeError('storage identity is not valid UTF-8');
    }
  }

  /** A short string, or '' when the payload ends here (a member of an earlier release). */
  optionalShortText(): string {
    return this.atEnd() ? '' : this.shortText();
  }

  atEnd(): boolean {
    return this.offset === this.bytes.length;
  }

  rest(): Uint8Array {
    return this.view_(this.bytes.length - this.offset);
  }

  end(): void {
    if (this.offset !== this.bytes.length) {
      throw new MessageDecodeError(`${this.bytes.length - this.offset} trailing bytes`);
    }
  }
}

/**
 * Encodes a message for the wire: returns its type tag and a freshly allocated payload. Entries
 * are laid out back to back (generation, kind, length, bytes); their indexes are implicit.
 * @throws Error when an append carries a hollow entry (its command bytes are not in memory).
 */
export function encodeMessage(message: Message): { type: number; payload: Uint8Array } {
  const type = MESSAGE_TYPES[message.kind];
  switch (message.kind) {
    case 'vote-request': {
      const id = storageIdBytes(message.storageId);
      const w = new Writer(8 + 1 + 8 + 8 + 1 + id.length);
      w.u64(message.generation);
      w.u8((message.preVote ? 1 : 0) | (message.leadershipTransfer ? 2 : 0));
      w.u64(message.lastLogIndex);
      w.u64(message.lastLogGeneration);
      w.shortText(id);
      return { type, payload: w.bytes };
    }
    case 'vote-response': {
      const id = storageIdBytes(message.storageId);
      const w = new Writer(8 + 1 + 1 + id.length);
      w.u64(message.generation);
      w.u8((message.preVote ? 1 : 0) | (message.granted ? 2 : 0));
      w.shortText(id);
      return { type, payload: w.bytes };
    }
    case 'append': {
      let size = 8 * 4 + 4;
      for (const entry of message.entries) {
        // Sending a hollow entry would replicate an empty command in its place.
        if (entry.hollowCommandBytes !== undefined) {
          throw new Error(
            `cannot encode hollow entry ${entry.index}: refill it from the log first`,
          );
        }
        size += ENTRY_HEADER_BYTES + entry.command.length;
      }
      const w = new Writer(size);
      w.u64(message.generation);
      w.u64(message.prevIndex);
      w.u64(message.prevGeneration);
      w.u64(message.highWaterMark);
      w.u32(message.entries.length);
      for (const entry of message.entries) {
        w.u64(entry.generation);
        w.u8(KIND_CODES[entry.kind]);
        w.u32(entry.command.length);
        w.raw(entry.command);
      }
      return { type, payload: w.bytes };
    }
    case 'append-response': {
      const id = storageIdBytes(message.storageId);
      const w = new Writer(8 + 1 + 8 * 3 + 1 + id.length);
      w.u64(message.generation);
      w.u8(message.rejected ? 1 : 0);
      w.u64(message.index);
      w.u64(message.hintIndex);
      w.u64(message.hintGeneration);
      w.shortText(id);
      return { type, payload: w.bytes };
    }
    case 'heartbeat': {
      const table = (message.storageIds ?? []).map(({ member, storageId }) => {
        const memberBytes = identityBytes(member);
        if (memberBytes.length > MAX_MEMBER_ID_BYTES) {
          throw new RangeError(
            `member id of ${memberBytes.length} bytes exceeds ${MAX_MEMBER_ID_BYTES}`,
          );
        }
        return [memberBytes, storageIdBytes(storageId)] as const;
      });
      if (table.length > MAX_HEARTBEAT_STORAGE_IDS) {
        throw new RangeError(
          `${table.length} storage identities exceed ${MAX_HEARTBEAT_STORAGE_IDS}`,
        );
      }
      let size = 8 * 3 + 1;
      for (const [member, id] of table) size += 2 + member.length + id.length;
      const w = new Writer(size);
      w.u64(message.generation);
      w.u64(message.highWaterMark);
      w.u64(message.readRound);
      w.u8(table.length);
      for (const [member, id] of table) {
        w.shortText(member);
        w.shortText(id);
      }
      return { type, payload: w.bytes };
    }
    case 'heartbeat-response': {
      const id = storageIdBytes(message.storageId);
      const w = new Writer(8 * 2 + 1 + id.length);
      w.u64(message.generation);
      w.u64(message.readRound);
      w.shortText(id);
      return { type, payload: w.bytes };
    }
    case 'snapshot-chunk': {
      const configuration =
        message.configuration === undefined
          ? undefined
          : encodeConfiguration(message.configuration);
      const configurationBytes = configuration === undefined ? 0 : 4 + configuration.length;
      const w = new Writer(8 * 5 + configurationBytes + message.data.length);
      w.u64(message.generation);
      w.u64(message.snapshotIndex);
      w.u64(message.snapshotGeneration);
      w.u64(message.offset);
      w.u64(message.totalBytes);
      if (configuration !== undefined) {
        w.u32(configuration.length);
        w.raw(configuration);
      }
      w.raw(message.data);
      return {
        type: configuration === undefined ? type : CONFIGURED_SNAPSHOT_CHUNK_TYPE,
        payload: w.bytes,
      };
    }
    case 'snapshot-response': {
      const w = new Writer(8 + 1 + 8 * 3);
      w.u64(message.generation);
      w.u8(message.rejected ? 1 : 0);
      w.u64(message.snapshotIndex);
      w.u64(message.nextOffset);
      w.u64(message.installedIndex);
      return { type, payload: w.bytes };
    }
    case 'timeout-now': {
      const w = new Writer(8);
      w.u64(message.generation);
      return { type, payload: w.bytes };
    }
    case 'storage-lost': {
      const seen = storageIdBytes(message.storageId);
      const remembered = storageIdBytes(message.rememberedStorageId);
      const w = new Writer(8 + 2 + seen.length + remembered.length);
      w.u64(message.generation);
      w.shortText(seen);
      w.shortText(remembered);
      return { type, payload: w.bytes };
    }
  }
}

/**
 * Decodes a payload received with `type`. Returns undefined for a type that is not a
 * leader-follower message. Entry commands are views into `payload` (not copies).
 * @throws MessageDecodeError when the payload is malformed.
 */
export function decodeMessage(type: number, payload: Uint8Array): Message | undefined {
  const r = new Reader(payload);
  let message: Message;
  switch (type) {
    case MESSAGE_TYPES['vote-request']: {
      const generation = r.u64();
      const flags = r.u8();
      message = {
        kind: 'vote-request',
        generation,
        preVote: (flags & 1) !== 0,
        leadershipTransfer: (flags & 2) !== 0,
        lastLogIndex: r.u64(),
        lastLogGeneration: r.u64(),
        ...storageIdField(r.optionalShortText()),
      };
      break;
    }
    case MESSAGE_TYPES['vote-response']: {
      const generation = r.u64();
      const flags = r.u8();
      message = {
        kind: 'vote-response',
        generation,
        preVote: (flags & 1) !== 0,
        granted: (flags & 2) !== 0,
        ...storageIdField(r.optionalShortText()),
      };
      break;
    }
    case MESSAGE_TYPES.append: {
      const generation = r.u64();
      const prevIndex = r.u64();
      const prevGeneration = r.u64();
      const highWaterMark = r.u64();
      const count = r.u32();
      if (count > payload.length) throw new MessageDecodeError(`bad entry count ${count}`);
      const entries: LogEntry[] = new Array<LogEntry>(count);
      for (let i = 0; i < count; i++) {
        const entryGeneration = r.u64();
        const kind = KINDS[r.u8()];
        if (kind === undefined) throw new MessageDecodeError('unknown entry kind');
        const command = r.view_(r.u32());
        if (kind === 'configuration') checkConfigurationBytes(command);
        entries[i] = { index: prevIndex + 1 + i, generation: entryGeneration, kind, command };
      }
      message = { kind: 'append', generation, prevIndex, prevGeneration, entries, highWaterMark };
      break;
    }
    case MESSAGE_TYPES['append-response']: {
      const generation = r.u64();
      const rejected = (r.u8() & 1) !== 0;
      message = {
        kind: 'append-response',
        generation,
        rejected,
        index: r.u64(),
        hintIndex: r.u64(),
        hintGeneration: r.u64(),
        ...storageIdField(r.optionalShortText()),
      };
      break;
    }
    case MESSAGE_TYPES.heartbeat: {
      const generation = r.u64();
      const highWaterMark = r.u64();
      const readRound = r.u64();
      // Absent from a member of an earlier release.
      const count = r.atEnd() ? 0 : r.u8();
      if (count > MAX_HEARTBEAT_STORAGE_IDS) {
        throw new MessageDecodeError(
          `${count} storage identities exceed ${MAX_HEARTBEAT_STORAGE_IDS}`,
        );
      }
      const storageIds = [];
      for (let i = 0; i < count; i++) {
        const member = r.shortText(MAX_MEMBER_ID_BYTES);
        const storageId = r.shortText();
        if (member === '' || storageId === '')
          throw new MessageDecodeError('empty storage identity');
        storageIds.push({ member, storageId });
      }
      message = {
        kind: 'heartbeat',
        generation,
        highWaterMark,
        readRound,
        ...(storageIds.length === 0 ? {} : { storageIds }),
      };
      break;
    }
    case MESSAGE_TYPES['heartbeat-response']:
      message = {
        kind: 'heartbeat-response',
        generation: r.u64(),
        readRound: r.u64(),
        ...storageIdField(r.optionalShortText()),
      };
      break;
    case CONFIGURED_SNAPSHOT_CHUNK_TYPE:
    case MESSAGE_TYPES['snapshot-chunk']: {
      const generation = r.u64();
      const snapshotIndex = r.u64();
      const snapshotGeneration = r.u64();
      const offset = r.u64();
      const totalBytes = r.u64();
      let configuration: ClusterConfiguration | undefined;
      if (type === CONFIGURED_SNAPSHOT_CHUNK_TYPE) {
        const length = r.u32();
        if (length > MAX_CONFIGURATION_BYTES) {
          throw new MessageDecodeError(`configuration of ${length} bytes`);
        }
        configuration = checkConfigurationBytes(r.view_(length));
      }
      message = {
        kind: 'snapshot-chunk',
        generation,
        snapshotIndex,
        snapshotGeneration,
        offset,
        totalBytes,
        data: r.rest(),
        ...(configuration === undefined ? {} : { configuration }),
      };
      if (message.offset + message.data.length > message.totalBytes) {
        throw new MessageDecodeError('snapshot chunk beyond its total size');
      }
      break;
    }
    case MESSAGE_TYPES['snapshot-response']: {
      const generation = r.u64();
      const rejected = (r.u8() & 1) !== 0;
      message = {
        kind: 'snapshot-response',
        generation,
        rejected,
        snapshotIndex: r.u64(),
        nextOffset: r.u64(),
        installedIndex: r.u64(),
      };
      break;
    }
    case MESSAGE_TYPES['timeout-now']:
      message = { kind: 'timeout-now', generation: r.u64() };
      break;
    case MESSAGE_TYPES['storage-lost']:
      message = {
        kind: 'storage-lost',
        generation: r.u64(),
        storageId: r.shortText(),
        rememberedStorageId: r.shortText(),
      };
      break;
    default:
      return undefined;
  }
  r.end();
  return message;
}

/** The optional `storageId` field: absent on the wire as an empty string. */
function storageIdField(storageId: string): { storageId?: string } {
  return storageId === '' ? {} : { storageId };
}
