/**
 * The snapshot format of {@link KvStateMachine}: magic, format, revision, key count, each key and
 * its packed entry (as the store keeps it: metadata varints, then the value), then the
 * idempotency table, then (format 2) the auth state as one length-prefixed record. A format 1
 * snapshot, from before auth existed, has no auth state and restores with auth disabled; in
 * format 2 the record is required, so a snapshot cut short can never pass for one without auth.
 * Format 3 appends the lease table (see `lease/lease-table.ts`) as one more required
 * length-prefixed record; formats 1 and 2 restore with no leases.
 * Format 4 adds, after the lease table, the history (compact revision, each key's superseded
 * records, the revision log; see `kv-store.ts`) and the raised alarms; older formats restore with
 * no history (nothing below the snapshot's revision can be read) and no alarm.
 * Format 5 appends the member registry (see `member-registry.ts`) as one more required
 * length-prefixed record; older formats restore with an empty registry (the initial members are
 * known from `--initial-cluster`).
 * Format 6 is format 5 whose registry record ends with the members added as voters and not yet
 * promoted; format 5 restores with no such request.
 * Encoded lazily in chunks and decoded from chunks cut at any byte, so a
 * snapshot of any size passes to and from disk without ever being held whole: the keys and, in
 * format 4, the history are decoded record by record as their bytes arrive.
 */

import {
  BinaryReader,
  MalformedEncodingError,
  TruncatedEncodingError,
} from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { decodeResponseOp, encodeResponseOp } from '../codec/result-codec.js';
import { AuthState } from '../auth/auth-state.js';
import { LeaseTable } from '../lease/lease-table.js';
import type { ByteString } from './byte-string.js';
import type { RememberedResult } from './idempotency-table.js';
import type { KeyHistory } from './key-history.js';
import type { HistoryView } from './kv-store.js';
import type { AlarmMember } from './maintenance-command.js';
import { AlarmTable } from './maintenance-command.js';
import { MemberRegistry } from './member-registry.js';
import type { PackedEntry } from './packed-entry.js';
import { RevisionList } from './revision-log.js';

const SNAPSHOT_MAGIC = 0x4b56534e; // "KVSN"
/** Without the auth state (written before auth existed). */
const FORMAT_WITHOUT_AUTH = 1;
/** With the auth state (required). */
const FORMAT_WITH_AUTH = 2;
/** With the auth state and the lease table (both required). */
const FORMAT_WITH_LEASES = 3;
/** With the auth state, the lease table, the history and the alarms (all required). */
const FORMAT_WITH_HISTORY = 4;
/** Format 4 and the member registry (required). */
const FORMAT_WITH_MEMBERS = 5;
/** Format 5 whose registry record carries the voter requests too (required). */
const FORMAT_WITH_VOTER_REQUESTS = 6;
const RECORD_TOMBSTONE = 0;
const RECORD_PUT = 1;

/** The state in a snapshot (references only; every member is immutable). */
export interface SnapshotView {
  revision: number;
  keys: ByteString[];
  packed: PackedEntry[];
  remembered: [string, RememberedResult][];
  /**
   * The auth state, encoded when the view was taken (it is small and mutable); decoding yields
   * `undefined` for a snapshot without one.
   */
  auth?: Uint8Array;
  /** The decoded auth state (set by {@link SnapshotDecoder.finish} only). */
  authState?: AuthState;
  /**
   * The lease table, encoded when the view was taken (written only with `auth`); decoding yields
   * `undefined` for a snapshot without one.
   */
  leases?: Uint8Array;
  /** The decoded lease table (set by {@link SnapshotDecoder.finish} only). */
  leaseTable?: LeaseTable;
  /** The history (format 4; requires `auth` and `leases`); absent in older snapshots. */
  history?: HistoryView;
  /** The raised alarms (format 4, with `history`). */
  alarms?: AlarmMember[];
  /** The member registry (format 5 and 6, with `history`); absent in older snapshots. */
  members?: MemberRegistry;
  /**
   * The keys, history records and revision log read as the chunks are produced, in place of
   * `keys`, `packed`, `history.keys`, `history.records` and `history.changes` (then empty): a durable store's committed
   * state, never held whole (encoding only).
   */
  streamed?: StreamedEntries;
}

/** Keys and history records a snapshot reads lazily (see {@link SnapshotView.streamed}). */
export interface StreamedEntries {
  keyCount: number;
  /**
   * Exactly `keyCount` keys and their packed entries, ascending, as bytes (one byte per
   * character of the byte strings): a store that holds them as bytes hands them over as they
   * are, and the snapshot copies them.
   */
  keys(): Iterable<[Uint8Array, Uint8Array]>;
  historyKeyCount: number;
  /** Exactly `historyKeyCount` keys and their records, ascending. */
  histories(): Iterable<[ByteString, KeyHistory]>;
  /** The number of logged revisions, in place of `history.changes`. */
  revisionCount: number;
  /**
   * Exactly `revisionCount` revisions, oldest first, each with the keys it changed already
   * encoded as a snapshot holds them (their count as a varint, then each key length-prefixed),
   * copied as they are.
   */
  changes(): Iterable<[number, Uint8Array]>;
  /** Called once, when the encoding ended or was abandoned. */
  release(): void;
}

/**
 * Where a {@link SnapshotDecoder} hands each key, history and logged revision as soon as its
 * bytes have arrived, instead of collecting them: a durable store installs a snapshot of any
 * size a batch at a time (see `StateStore.beginInstall`). Calls come in the snapshot's order:
 * `begin`, every `key`, then (format 4 and later) `beginHistory`, every `history`, every
 * `change`. A call that throws stops the decoding: `push` and `finish` rethrow it.
 */
export interface SnapshotRecordSink {
  /** The snapshot's revision, before its first key. */
  begin(revision: number): void;
  /** A live key and its packed entry. */
  key(key: ByteString, packed: PackedEntry): void;
  /** The compact revision, before the first history (snapshots with history only). */
  beginHistory(compactRevision: number): void;
  /** A key's superseded records. */
  history(key: ByteString, records: KeyHistory): void;
  /** The keys a logged revision changed. */
  change(revision: number, keys: ByteString[]): void;
}

function* arrayEntries<V>(keys: ByteString[], values: V[]): Generator<[ByteString, V]> {
  for (let index = 0; index < keys.length; index++) {
    yield [keys[index] as ByteString, values[index] as V];
  }
}

/**
 * Encodes a snapshot view, yielding a chunk whenever `chunkBytes` is reached (one chunk of
 * `initialCapacity` to start with when `chunkBytes` is infinite).
 */
export function* encodeSnapshot(
  view: SnapshotView,
  chunkBytes: number,
  initialCapacity: number,
): Generator<Uint8Array> {
  const capacity = (): number =>
    Number.isFinite(chunkBytes) ? chunkBytes + 4096 : Math.max(64, initialCapacity);
  let writer = new BinaryWriter(capacity());
  writer.writeVarint(SNAPSHOT_MAGIC);
  if (view.history !== undefined && (view.auth === undefined || view.leases === undefined)) {
    // Formats 4 and later are the only ones with history; dropping it silently would lose past
    // revisions.
    throw new Error('a snapshot with history needs the auth state and the lease table too');
  }
  const format =
    view.auth === undefined
      ? FORMAT_WITHOUT_AUTH
      : view.leases === undefined
        ? FORMAT_WITH_AUTH
        : view.history === undefined
          ? FORMAT_WITH_LEASES
          : view.members === undefined
            ? FORMAT_WITH_HISTORY
            : FORMAT_WITH_VOTER_REQUESTS;
  writer.writeByte(format);
  writer.writeVarint(view.revision);
  const streamed = view.streamed;
  try {
    if (streamed === undefined) {
      // The common case, kept a plain loop over the arrays.
      writer.writeVarint(view.keys.length);
      for (let index = 0; index < view.keys.length; index++) {
        writer.writeByteString(view.keys[index] as ByteString);
        writer.writeByteString(view.packed[index] as PackedEntry);
        if (writer.length >= chunkBytes) {
          yield writer.finish();
          writer = new BinaryWriter(capacity());
        }
      }
    } else {
      writer.writeVarint(streamed.keyCount);
      let written = 0;
      for (const [key, packed] of streamed.keys()) {
        // Length-prefixed bytes: the same encoding as a byte string of those characters.
        writer.writeBytes(key);
        writer.writeBytes(packed);
        written++;
        if (writer.length >= chunkBytes) {
          yield writer.finish();
          writer = new BinaryWriter(capacity());
        }
      }
      if (written !== streamed.keyCount) {
        throw new Error(`snapshot streamed ${written} keys, announced ${streamed.keyCount}`);
      }
    }
    writer.writeVarint(view.remembered.length);
    for (const [requestId, remembered] of view.remembered) {
      writer.writeUtf8(requestId);
      writer.writeVarint(remembered.revision);
      writer.writeVarint(remembered.bodyFingerprint);
      encodeResponseOp(writer, remembered.result);
    }
    if (view.auth !== undefined) writer.writeBytes(view.auth);
    if (view.auth !== undefined && view.leases !== undefined) writer.writeBytes(view.leases);
    if (format >= FORMAT_WITH_HISTORY) {
      const history = view.history as HistoryView;
      writer.writeVarint(history.compactRevision);
      const historyCount = streamed?.historyKeyCount ?? history.keys.length;
      writer.writeVarint(historyCount);
      let written = 0;
      const histories = streamed?.histories() ?? arrayEntries(history.keys, history.records);
      for (const [key, records] of histories) {
        written++;
        writer.writeByteString(key);
        writer.writeVarint(records.length);
        for (const record of records) {
          if (typeof record === 'number') {
            writer.writeByte(RECORD_TOMBSTONE);
            writer.writeVarint(record);
          } else {
            writer.writeByte(RECORD_PUT);
            writer.writeByteString(record);
          }
        }
        if (writer.length >= chunkBytes) {
          yield writer.finish();
          writer = new BinaryWriter(capacity());
        }
      }
      if (written !== historyCount) {
        throw new Error(`snapshot streamed ${written} histories, announced ${historyCount}`);
      }
      const revisionCount = streamed?.revisionCount ?? history.changes.length;
      writer.writeVarint(revisionCount);
      let revisionsWritten = 0;
      if (streamed === undefined) {
        for (const [revision, keys] of history.changes) {
          revisionsWritten++;
          writer.writeVarint(revision);
          writer.writeVarint(keys.length);
          for (const key of keys) writer.writeByteString(key);
          if (writer.length >= chunkBytes) {
            yield writer.finish();
            writer = new BinaryWriter(capacity());
          }
        }
      } else {
        for (const [revision, encodedKeys] of streamed.changes()) {
          revisionsWritten++;
          writer.writeVarint(revision);
          writer.writeEncoded(encodedKeys);
          if (writer.length >= chunkBytes) {
            yield writer.finish();
            writer = new BinaryWriter(capacity());
          }
        }
      }
      if (revisionsWritten !== revisionCount) {
        throw new Error(
          `snapshot streamed ${revisionsWritten} revisions, announced ${revisionCount}`,
        );
      }
      const alarms = new AlarmTable();
      alarms.replaceWith(view.alarms ?? []);
      alarms.encode(writer);
      if (view.members !== undefined) {
        const members = new BinaryWriter(256);
        view.members.encode(members);
        writer.writeBytes(members.finishExact());
      }
    }
    yield writer.finish();
  } finally {
    streamed?.release();
  }
}

/**
 * Where decoding is. Formats 1-3 decode what follows the keys in `finish`, from all the bytes
 * left (`remembered`); format 4 decodes on as chunks arrive (`tail`: the idempotency table, auth
 * state and lease table, each small and bounded; then the history a key or a revision at a time,
 * then the alarms), so the history, which can be as large as the keys, is never held as bytes.
 */
type Stage =
  | 'header'
  | 'keys'
  | 'remembered'
  | 'tail'
  | 'historyKeys'
  | 'historyChanges'
  | 'alarms'
  | 'members'
  | 'done';

/** A nested record's own truncation is malformed data, not a sign that more bytes will come. */
function decodeNested<T>(bytes: Uint8Array, decode: (reader: BinaryReader) => T, what: string): T {
  const reader = new BinaryReader(bytes);
  let value: T;
  try {
    value = decode(reader);
  } catch (error) {
    if (error instanceof TruncatedEncodingError) {
      throw new MalformedEncodingError(`${what} ends early: ${error.message}`);
    }
    throw error;
  }
  if (!reader.atEnd) throw new MalformedEncodingError(`trailing bytes after ${what}`);
  return value;
}

function decodeRemembered(reader: BinaryReader): [string, RememberedResult][] {
  const remembered: [string, RememberedResult][] = [];
  const rememberedCount = reader.readVarint();
  for (let count = 0; count < rememberedCount; count++) {
    const requestId = reader.readUtf8();
    const rememberedAt = reader.readVarint();
    const bodyFingerprint = reader.readVarint();
    const result = decodeResponseOp(reader);
    if (result.type === 'range' || result.type === 'rangeNotRead') {
      throw new MalformedEncodingError('range result in idempotency table');
    }
    remembered.push([requestId, { revision: rememberedAt, bodyFingerprint, result }]);
  }
  return remembered;
}

function decodeHistoryRecords(reader: BinaryReader): (PackedEntry | number)[] {
  const recordCount = reader.readVarint();
  const history: (PackedEntry | number)[] = [];
  for (let count = 0; count < recordCount; count++) {
    const tag = reader.readByte();
    if (tag === RECORD_TOMBSTONE) history.push(reader.readVarint());
    else if (tag === RECORD_PUT) history.push(reader.readByteString());
    else throw new MalformedEncodingError(`unknown history record tag ${tag}`);
  }
  // An exact copy: the array grown by push keeps 17 slots for one record, and a restored store
  // keeps this array as the key's history (not sized up front: the count is not trusted yet).
  return history.slice();
}

function decodeRevisionChanges(reader: BinaryReader): [number, ByteString[]] {
  const revision = reader.readVarint();
  const count = reader.readVarint();
  const changed: ByteString[] = [];
  for (let at = 0; at < count; at++) changed.push(reader.readByteString());
  return [revision, changed];
}

/** The element of `sorted` (ascending) equal to `key`, or `undefined`. */
function sameKeyIn(sorted: readonly ByteString[], key: ByteString): ByteString | undefined {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as ByteString) < key) low = middle + 1;
    else high = middle;
  }
  return sorted[low] === key ? sorted[low] : undefined;
}

/**
 * Decodes a snapshot from chunks cut anywhere. Keys and entries become strings as soon as their
 * bytes have arrived, so only the bytes of one unfinished record are kept between chunks (and
 * the idempotency table at the end, which its own limits keep small). With a
 * {@link SnapshotRecordSink}, the keys, histories and logged revisions go to it one by one and
 * the decoded view holds none of them.
 */
export class SnapshotDecoder {
  readonly #sink: SnapshotRecordSink | undefined;
  #stage: Stage = 'header';
  #format = 0;
  #revision = 0;
  #keyCount = 0;
  /** Keys, histories and revisions decoded so far (kept in the arrays below only without sink). */
  #keysDecoded = 0;
  #historyKeysDecoded = 0;
  #revisionsDecoded = 0;
  readonly #keys: ByteString[] = [];
  readonly #packed: PackedEntry[] = [];
  /** Format 4's sections after the keys, as they are decoded. */
  #remembered: [string, RememberedResult][] = [];
  #authState: AuthState | undefined;
  #leaseTable: LeaseTable | undefined;
  #compactRevision = 0;
  #historyKeyCount = 0;
  readonly #historyKeys: ByteString[] = [];
  readonly #historyRecords: (PackedEntry | number)[][] = [];
  #revisionCount = 0;
  readonly #changes = new RevisionList();
  #alarms: AlarmMember[] = [];
  #members: MemberRegistry | undefined;
  /** Undecoded bytes from earlier chunks. */
  #unread: Buffer = Buffer.alloc(0);
  /** Chunks received since the last attempt, and how many bytes the next attempt needs. */
  #waiting: Buffer[] = [];
  #waitingBytes = 0;
  #neededBytes = 0;

  /** @param sink where keys, histories and revisions go as they arrive; collected when absent. */
  constructor(sink?: SnapshotRecordSink) {
    this.#sink = sink;
  }

  /** Takes the next chunk of the snapshot. @throws MalformedEncodingError on bad bytes. */
  push(chunk: Uint8Array): void {
    this.#waiting.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.#waitingBytes += chunk.byteLength;
    // A record longer than a chunk is decoded once all of it is here, not retried per chunk.
    if (this.#unread.length + this.#waitingBytes < this.#neededBytes) return;
    this.#unread = Buffer.concat([this.#unread, ...this.#waiting]);
    this.#waiting = [];
    this.#waitingBytes = 0;
    this.#decodeAvailable();
  }

  /**
   * The decoded snapshot, once every chunk was pushed.
   * @throws MalformedEncodingError if the bytes end early or do not decode.
   */
  finish(): SnapshotView {
    this.#unread = Buffer.concat([this.#unread, ...this.#waiting]);
    this.#waiting = [];
    this.#decodeAvailable();
    if (this.#stage === 'header' || this.#stage === 'keys') {
      throw new MalformedEncodingError(
        `snapshot ends after ${this.#keysDecoded} of ${this.#keyCount} keys`,
      );
    }
    if (this.#format >= FORMAT_WITH_HISTORY) {
      return this.#finishStreamed();
    }
    const reader = new BinaryReader(this.#unread);
    const remembered = decodeRemembered(reader);
    let authState: AuthState | undefined;
    if (this.#format !== FORMAT_WITHOUT_AUTH) {
      const authReader = new BinaryReader(reader.readBytes());
      authState = AuthState.decode(authReader);
      if (!authReader.atEnd) throw new MalformedEncodingError('trailing bytes after auth state');
    }
    let leaseTable: LeaseTable | undefined;
    if (this.#format === FORMAT_WITH_LEASES) {
      const leaseReader = new BinaryReader(reader.readBytes());
      leaseTable = LeaseTable.decode(leaseReader);
      if (!leaseReader.atEnd) throw new MalformedEncodingError('trailing bytes after leases');
    }
    if (!reader.atEnd) throw new MalformedEncodingError('trailing bytes after snapshot');
    return {
      revision: this.#revision,
      keys: this.#keys,
      packed: this.#packed,
      remembered,
      ...(authState === undefined ? {} : { authState }),
      ...(leaseTable === undefined ? {} : { leaseTable }),
    };
  }

  /**
   * The string this decoder already holds for a logged revision's key: the live key or the
   * history key decoded before (both lists ascending), so the revision log that is loaded from
   * the view shares them instead of keeping a copy per change (a million changes: 32 MB).
   */
  readonly #sharedKey = (key: ByteString): ByteString =>
    sameKeyIn(this.#keys, key) ?? sameKeyIn(this.#historyKeys, key) ?? key;

  /** Format 4's view, decoded as the chunks came. */
  #finishStreamed(): SnapshotView {
    if (this.#stage !== 'done') {
      throw new MalformedEncodingError(
        this.#stage === 'historyKeys'
          ? `snapshot ends after ${this.#historyKeysDecoded} of ${this.#historyKeyCount} history keys`
          : this.#stage === 'historyChanges'
            ? `snapshot ends after ${this.#revisionsDecoded} of ${this.#revisionCount} logged revisions`
            : `snapshot ends in its ${this.#stage === 'tail' ? 'tables' : this.#stage}`,
      );
    }
    if (this.#unread.length > 0) throw new MalformedEncodingError('trailing bytes after snapshot');
    return {
      revision: this.#revision,
      keys: this.#keys,
      packed: this.#packed,
      remembered: this.#remembered,
      authState: this.#authState as AuthState,
      leaseTable: this.#leaseTable as LeaseTable,
      history: {
        compactRevision: this.#compactRevision,
        keys: this.#historyKeys,
        records: this.#historyRecords,
        changes: this.#changes,
      },
      alarms: this.#alarms,
      ...(this.#members === undefined ? {} : { members: this.#members }),
    };
  }

  /**
   * Format 4, after the keys: decodes every complete section or record that has arrived. Each
   * step reads into locals and is kept only once whole, so a step cut short is retried from its
   * start when more bytes come; `progress.consumed` follows what was kept, also when a later
   * step throws.
   */
  #decodeStreamed(reader: BinaryReader, progress: { consumed: number }): void {
    if (this.#stage === 'tail') {
      const remembered = decodeRemembered(reader);
      const authBytes = reader.readBytes();
      const leaseBytes = reader.readBytes();
      const compactRevision = reader.readVarint();
      const historyKeyCount = reader.readVarint();
      this.#remembered = remembered;
      this.#authState = decodeNested(authBytes, (nested) => AuthState.decode(nested), 'auth state');
      this.#leaseTable = decodeNested(leaseBytes, (nested) => LeaseTable.decode(nested), 'leases');
      this.#compactRevision = compactRevision;
      this.#historyKeyCount = historyKeyCount;
      progress.consumed = reader.offset;
      this.#stage = 'historyKeys';
      this.#sink?.beginHistory(compactRevision);
    }
    while (this.#stage === 'historyKeys' && this.#historyKeysDecoded < this.#historyKeyCount) {
      const key = reader.readByteString();
      const records = decodeHistoryRecords(reader);
      // Counted as consumed before the sink sees it: a sink that throws ends the decoding, and
      // a record is never handed over twice.
      progress.consumed = reader.offset;
      this.#historyKeysDecoded++;
      if (this.#sink === undefined) {
        this.#historyKeys.push(key);
        this.#historyRecords.push(records);
      } else {
        this.#sink.history(key, records);
      }
    }
    if (this.#stage === 'historyKeys') {
      this.#revisionCount = reader.readVarint();
      progress.consumed = reader.offset;
      this.#stage = 'historyChanges';
    }
    while (this.#stage === 'historyChanges' && this.#revisionsDecoded < this.#revisionCount) {
      const [revision, keys] = decodeRevisionChanges(reader);
      progress.consumed = reader.offset;
      this.#revisionsDecoded++;
      if (this.#sink === undefined) this.#changes.add(revision, keys.map(this.#sharedKey));
      else this.#sink.change(revision, keys);
    }
    if (this.#stage === 'historyChanges') this.#stage = 'alarms';
    if (this.#stage === 'alarms') {
      this.#alarms = AlarmTable.decode(reader);
      progress.consumed = reader.offset;
      this.#stage = this.#format >= FORMAT_WITH_MEMBERS ? 'members' : 'done';
    }
    if (this.#stage === 'members') {
      const bytes = reader.readBytes();
      const withVoterRequests = this.#format === FORMAT_WITH_VOTER_REQUESTS;
      this.#members = decodeNested(
        bytes,
        (nested) => MemberRegistry.decode(nested, withVoterRequests),
        'members',
      );
      progress.consumed = reader.offset;
      this.#stage = 'done';
    }
  }

  /** Decodes every complete record in `#unread` and keeps the rest for the next chunk. */
  #decodeAvailable(): void {
    const reader = new BinaryReader(this.#unread);
    let consumed = 0;
    try {
      if (this.#stage === 'header') {
        if (reader.readVarint() !== SNAPSHOT_MAGIC) {
          throw new MalformedEncodingError('not a snapshot');
        }
        const format = reader.readByte();
        if (
          format !== FORMAT_WITHOUT_AUTH &&
          format !== FORMAT_WITH_AUTH &&
          format !== FORMAT_WITH_LEASES &&
          format !== FORMAT_WITH_HISTORY &&
          format !== FORMAT_WITH_MEMBERS &&
          format !== FORMAT_WITH_VOTER_REQUESTS
        ) {
          throw new MalformedEncodingError(`unknown snapshot format ${format}`);
        }
        this.#format = format;
        this.#revision = reader.readVarint();
        this.#keyCount = reader.readVarint();
        consumed = reader.offset;
        this.#stage = 'keys';
        this.#sink?.begin(this.#revision);
      }
      while (this.#stage === 'keys' && this.#keysDecoded < this.#keyCount) {
        const key = reader.readByteString();
        const packed = reader.readByteString();
        consumed = reader.offset;
        this.#keysDecoded++;
        if (this.#sink === undefined) {
          this.#keys.push(key);
          this.#packed.push(packed);
        } else {
          this.#sink.key(key, packed);
        }
      }
      if (this.#stage === 'keys') {
        this.#stage = this.#format >= FORMAT_WITH_HISTORY ? 'tail' : 'remembered';
      }
      if (this.#stage === 'remembered') {
        // Older formats: what follows the keys is decoded in `finish`, from all that is left.
        this.#neededBytes = Number.POSITIVE_INFINITY;
      } else {
        const progress = { consumed };
        try {
          this.#decodeStreamed(reader, progress);
        } finally {
          consumed = progress.consumed;
        }
        // Done: anything more is trailing bytes, reported by `finish`.
        this.#neededBytes = Number.POSITIVE_INFINITY;
      }
    } catch (error) {
      if (!(error instanceof TruncatedEncodingError)) throw error;
      this.#neededBytes = error.neededBytes - consumed;
    }
    this.#unread = this.#unread.subarray(consumed);
  }
}
