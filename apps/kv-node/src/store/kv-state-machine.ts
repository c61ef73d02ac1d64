/**
 * The state machine the replicated log applies committed entries to: decodes each command,
 * answers retries from the idempotency table, and applies the rest to the {@link KvStore}.
 */

import { BinaryReader, MalformedEncodingError } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { decodeCommand } from '../codec/command-codec.js';
import { decodeResponseOp, encodeResponseOp } from '../codec/result-codec.js';
import type { ByteString } from './byte-string.js';
import type { CommandResult, IdempotencyLimits, RememberedResult } from './idempotency-table.js';
import { DEFAULT_IDEMPOTENCY_LIMITS, IdempotencyTable } from './idempotency-table.js';
import { KvStore } from './kv-store.js';
import type { PackedEntry } from './packed-entry.js';

/** What applying one command produced. */
export type ApplyOutcome =
  /** Applied now. */
  | { status: 'applied'; result: CommandResult }
  /** A retry of a request id already applied: the first result, not applied again. */
  | { status: 'replayed'; result: CommandResult }
  /** The request id was first used for a different request; nothing applied. */
  | { status: 'rejected'; reason: 'idempotency_key_reused'; requestId: string };

const SNAPSHOT_MAGIC = 0x4b56534e; // "KVSN"
const SNAPSHOT_FORMAT = 1;

/** The state captured for a snapshot (references only; every member is immutable). */
interface SnapshotView {
  revision: number;
  keys: ByteString[];
  packed: PackedEntry[];
  remembered: [string, RememberedResult][];
}

/**
 * Encodes a snapshot view: magic, format, revision, key count, each key and its packed entry (as
 * the store keeps it: metadata varints, then the value), then the idempotency table. Yields a
 * chunk whenever `chunkBytes` is reached.
 */
function* encodeSnapshot(
  view: SnapshotView,
  chunkBytes: number,
  initialCapacity: number,
): Generator<Uint8Array> {
  const capacity = (): number =>
    Number.isFinite(chunkBytes) ? chunkBytes + 4096 : Math.max(64, initialCapacity);
  let writer = new BinaryWriter(capacity());
  writer.writeVarint(SNAPSHOT_MAGIC);
  writer.writeByte(SNAPSHOT_FORMAT);
  writer.writeVarint(view.revision);
  writer.writeVarint(view.keys.length);
  for (let index = 0; index < view.keys.length; index++) {
    writer.writeByteString(view.keys[index] as ByteString);
    writer.writeByteString(view.packed[index] as PackedEntry);
    if (writer.length >= chunkBytes) {
      yield writer.finish();
      writer = new BinaryWriter(capacity());
    }
  }
  writer.writeVarint(view.remembered.length);
  for (const [requestId, remembered] of view.remembered) {
    writer.writeUtf8(requestId);
    writer.writeVarint(remembered.revision);
    writer.writeVarint(remembered.bodyFingerprint);
    encodeResponseOp(writer, remembered.result);
  }
  yield writer.finish();
}

/**
 * The key-value state machine. Deterministic: replicas that apply the same commands in the same
 * order reach the same state and return the same outcomes.
 */
export class KvStateMachine {
  /** The store; read it directly for local (serializable) reads. */
  readonly store = new KvStore();
  readonly #idempotency: IdempotencyTable;
  #appliedIndex = 0;

  /** @param limits bounds of the idempotency table. */
  constructor(limits: IdempotencyLimits = DEFAULT_IDEMPOTENCY_LIMITS) {
    this.#idempotency = new IdempotencyTable(limits);
  }

  /** Log index of the last applied command (or restored snapshot). */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** Number of request ids the idempotency table remembers. */
  get rememberedRequestCount(): number {
    return this.#idempotency.size;
  }

  /**
   * Applies the command at log `index`. An empty command (a leader's no-op entry) changes nothing
   * and returns `undefined`.
   *
   * @throws MalformedEncodingError if the command does not decode (a bug or corruption: the node
   *   must stop rather than diverge).
   */
  apply(index: number, command: Uint8Array): ApplyOutcome | undefined {
    this.#appliedIndex = index;
    if (command.byteLength === 0) return undefined;
    const { command: decoded, bodyFingerprint } = decodeCommand(command);
    const requestId = decoded.requestId;
    if (requestId !== undefined) {
      const remembered = this.#idempotency.lookup(requestId);
      if (remembered !== undefined) {
        return remembered.bodyFingerprint === bodyFingerprint
          ? { status: 'replayed', result: remembered.result }
          : { status: 'rejected', reason: 'idempotency_key_reused', requestId };
      }
    }
    let result: CommandResult;
    switch (decoded.type) {
      case 'put':
        result = { type: 'put', result: this.store.put(decoded.request) };
        break;
      case 'deleteRange':
        result = { type: 'deleteRange', result: this.store.deleteRange(decoded.request) };
        break;
      case 'txn':
        result = { type: 'txn', result: this.store.txn(decoded.request) };
        break;
    }
    const revision = this.store.revision;
    if (requestId !== undefined) {
      this.#idempotency.remember(requestId, { revision, bodyFingerprint, result });
    }
    this.#idempotency.expire(revision);
    return { status: 'applied', result };
  }

  /** The whole state (keys, revision, idempotency table) as bytes. */
  snapshot(): Uint8Array {
    const view = this.#snapshotView();
    let estimate = 64;
    for (let index = 0; index < view.keys.length; index++) {
      estimate += (view.keys[index] as ByteString).length + (view.packed[index] as string).length;
      estimate += 8;
    }
    for (const [requestId] of view.remembered) estimate += 3 * requestId.length + 96;
    // One chunk sized up front: no doubling copies of a buffer that may be 100+ MB.
    const [only] = encodeSnapshot(view, Infinity, estimate);
    return only as Uint8Array;
  }

  /**
   * The same bytes as {@link KvStateMachine.snapshot}, as a sequence of chunks of about
   * `chunkBytes` each, encoded lazily as the sequence is consumed. The state is captured when this
   * is called (about 8 bytes per key), so applying more commands meanwhile does not change what
   * the chunks hold; a writer can stream a snapshot of any size to disk holding one chunk at a
   * time instead of the whole encoding.
   *
   * @param chunkBytes target size of each chunk in bytes (default 1 MiB); the last one is smaller.
   */
  snapshotChunks(chunkBytes = 1 << 20): Iterable<Uint8Array> {
    return encodeSnapshot(this.#snapshotView(), Math.max(64, chunkBytes), 0);
  }

  #snapshotView(): SnapshotView {
    const remembered: [string, RememberedResult][] = [];
    this.#idempotency.forEach((requestId, entry) => remembered.push([requestId, entry]));
    return { ...this.store.packedView(), remembered };
  }

  /**
   * Replaces the state with a snapshot taken at log `index`.
   *
   * @throws MalformedEncodingError if the bytes are not a snapshot of this format.
   */
  restore(snapshot: Uint8Array, index: number): void {
    const reader = new BinaryReader(snapshot);
    if (reader.readVarint() !== SNAPSHOT_MAGIC) throw new MalformedEncodingError('not a snapshot');
    const format = reader.readByte();
    if (format !== SNAPSHOT_FORMAT) {
      throw new MalformedEncodingError(`unknown snapshot format ${format}`);
    }
    const revision = reader.readVarint();
    const keyCount = reader.readVarint();
    const keys: ByteString[] = [];
    const packed: PackedEntry[] = [];
    for (let count = 0; count < keyCount; count++) {
      keys.push(reader.readByteString());
      packed.push(reader.readByteString());
    }
    const remembered: [string, RememberedResult][] = [];
    const rememberedCount = reader.readVarint();
    for (let count = 0; count < rememberedCount; count++) {
      const requestId = reader.readUtf8();
      const rememberedAt = reader.readVarint();
      const bodyFingerprint = reader.readVarint();
      const result = decodeResponseOp(reader);
      if (result.type === 'range')
        throw new MalformedEncodingError('range result in idempotency table');
      remembered.push([requestId, { revision: rememberedAt, bodyFingerprint, result }]);
    }
    if (!reader.atEnd) throw new MalformedEncodingError('trailing bytes after snapshot');
    try {
      this.store.loadPacked(revision, keys, packed);
      this.#idempotency.clear();
      for (const [requestId, entry] of remembered) this.#idempotency.remember(requestId, entry);
    } catch (error) {
      throw new MalformedEncodingError(`snapshot keys: ${(error as Error).message}`);
    }
    this.#appliedIndex = index;
  }
}
