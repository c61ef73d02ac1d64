import type { Random } from './core-types.js';
import { isHollowEntry } from './log-entry.js';
import type { HardState, LogEntry, SnapshotMetadata } from './log-entry.js';
import type { MemberState } from './member-state.js';
import type {
  MemberStateChange,
  NodeStorage,
  PersistBatch,
  RecoveredNodeState,
  SnapshotToSave,
} from './node-storage.js';
import { encodeSnapshotBytes, openSnapshotBytes } from './snapshot-file.js';
import { StorageJobQueue } from './storage-job-queue.js';
import { RecoveredTail, type RecoverOptions } from './recovered-tail.js';
import {
  hardStateAfterRecovery,
  mergeChanges,
  newStorageId,
  PersistOrder,
  recordableMemberState,
} from './storage-rules.js';

/** Options of {@link MemoryNodeStorage}. */
export interface MemoryNodeStorageOptions {
  /** Draws the storage identity on the first {@link MemoryNodeStorage.recover}. */
  readonly random: Random;
}

/**
 * A node's storage in memory, for tests: everything handed to it counts as durable at once, and
 * stays while the object lives, so a test that keeps the object and opens a new node on it
 * simulates a restart (one without power loss; the simulation's file system models that through
 * {@link FileNodeStorage}). Jobs run through the same ordered `StorageJobQueue` as the
 * file storage, so they complete asynchronously and in the same order.
 */
export class MemoryNodeStorage implements NodeStorage {
  private readonly jobs = new StorageJobQueue();
  private readonly persistOrder = new PersistOrder();
  private hardState: HardState = { generation: 0, votedFor: undefined };
  private storedMemberState: MemberState | undefined;
  private snapshotBytes: Uint8Array | undefined;
  private snapshot: SnapshotMetadata | undefined;
  /** The log after the snapshot (and the entries kept below it until released). */
  private log: LogEntry[] = [];
  /** Index of the last entry stored (or of the snapshot when the log after it is empty). */
  private lastIndex = 0;
  private incoming = new Uint8Array(0);
  private incomingBytes = 0;

  constructor(private readonly options: MemoryNodeStorageOptions) {}

  get memberState(): MemberState {
    if (this.storedMemberState === undefined) throw new Error('storage not recovered');
    return this.storedMemberState;
  }

  /** Entries held (for tests: what a release below the low-water mark dropped). */
  get entryCount(): number {
    return this.log.length;
  }

  recover(options: RecoverOptions = {}): Promise<RecoveredNodeState> {
    this.storedMemberState ??= {
      storageId: newStorageId(this.options.random),
      acknowledgedIndex: 0,
      peerStorageIds: new Map(),
    };
    const snapshotIndex = this.snapshot?.index ?? 0;
    // The entries are this object's own (nothing to copy); hollowed as a file storage would.
    const tail = new RecoveredTail(options, false);
    for (const entry of this.log) if (entry.index > snapshotIndex) tail.add(entry);
    const entries = tail.finish();
    this.hardState = hardStateAfterRecovery(this.hardState, this.snapshot, entries);
    return Promise.resolve({
      hardState: this.hardState,
      memberState: this.storedMemberState,
      snapshot:
        this.snapshotBytes === undefined
          ? undefined
          : openSnapshotBytes(this.snapshotBytes, 'memory snapshot'),
      entries,
    });
  }

  persist(batch: PersistBatch): Promise<void> {
    const steps: Promise<unknown>[] = [];
    for (const chunk of batch.snapshotChunks) {
      steps.push(
        this.jobs.enqueue('snapshot', () => {
          this.writeIncoming(chunk.offset, chunk.data);
          return Promise.resolve();
        }),
      );
    }
    const install = batch.snapshotToInstall;
    if (install !== undefined) {
      steps.push(
        this.jobs.enqueue('barrier', async () => {
          const bytes = this.incoming.slice(0, this.incomingBytes);
          const installed = openSnapshotBytes(bytes, 'incoming memory snapshot');
          await installed.readAll(); // verifies the checksum, as installing the file does
          if (installed.metadata.index !== install.metadata.index) {
            throw new Error(`incoming snapshot is through ${installed.metadata.index}`);
          }
          this.snapshotBytes = bytes;
          this.snapshot = install.metadata;
          this.log = [];
          this.lastIndex = install.metadata.index;
          await install.restore(openSnapshotBytes(bytes, 'memory snapshot'));
        }),
      );
    }
    if (batch.hardState !== undefined) {
      const hardState = batch.hardState;
      steps.push(
        this.jobs.enqueue('state', () => {
          this.hardState = hardState;
          return Promise.resolve();
        }),
      );
    }
    if (batch.entries.length > 0) {
      const entries = batch.entries;
      steps.push(this.jobs.enqueue('log', () => Promise.resolve(this.append(entries))));
    }
    return this.persistOrder.settleInOrder(steps);
  }

  private append(entries: readonly LogEntry[]): void {
    const first = entries[0]!;
    for (const entry of entries) {
      if (isHollowEntry(entry)) throw new Error(`entry ${entry.index} to persist has no bytes`);
    }
    if (first.index <= this.lastIndex) {
      // A conflicting suffix is replaced.
      const kept = this.log.findIndex((entry) => entry.index >= first.index);
      if (kept >= 0) this.log.length = kept;
      this.lastIndex = first.index - 1;
    }
    if (first.index !== this.lastIndex + 1) {
      throw new Error(`entry ${first.index} does not follow the stored log (${this.lastIndex})`);
    }
    this.log.push(...entries);
    this.lastIndex = entries[entries.length - 1]!.index;
  }

  private writeIncoming(offset: number, data: Uint8Array): void {
    if (offset === 0) this.incomingBytes = 0;
    const end = offset + data.length;
    if (end > this.incoming.length) {
      const grown = new Uint8Array(Math.max(end, 2 * this.incoming.length));
      grown.set(this.incoming.subarray(0, this.incomingBytes));
      this.incoming = grown;
    }
    this.incoming.set(data, offset);
    this.incomingBytes = Math.max(this.incomingBytes, end);
  }

  recordMemberState(change: MemberStateChange): Promise<void> {
    return this.jobs.enqueue('state', () => {
      this.storedMemberState = recordableMemberState(
        this.memberState,
        mergeChanges({}, change),
        this.lastIndex,
      );
      return Promise.resolve();
    });
  }

  saveSnapshot(snapshot: SnapshotToSave): Promise<SnapshotMetadata> {
    return this.jobs.enqueue('snapshot', () => {
      const current = this.snapshot;
      if (current !== undefined && current.index >= snapshot.index) return Promise.resolve(current);
      const bytes = encodeSnapshotBytes(snapshot);
      this.snapshotBytes = bytes;
      this.snapshot = {
        index: snapshot.index,
        generation: snapshot.generation,
        sizeBytes: bytes.length,
        ...(snapshot.configuration === undefined ? {} : { configuration: snapshot.configuration }),
      };
      return Promise.resolve(this.snapshot);
    });
  }

  readSnapshotRange(
    snapshotIndex: number,
    offset: number,
    length: number,
  ): Promise<Uint8Array | undefined> {
    return this.jobs.enqueue('snapshot', () => {
      if (this.snapshot?.index !== snapshotIndex || this.snapshotBytes === undefined) {
        return Promise.resolve(undefined);
      }
      return Promise.resolve(this.snapshotBytes.slice(offset, offset + length));
    });
  }

  readEntries(from: number, to: number): Promise<LogEntry[] | undefined> {
    return this.jobs.enqueue('log', () => {
      const position = this.log.findIndex((entry) => entry.index === from);
      if (position < 0) return Promise.resolve(undefined);
      const entries = this.log.slice(position, position + (to - from + 1));
      return Promise.resolve(entries.length === to - from + 1 ? entries : undefined);
    });
  }

  releaseBelow(index: number): Promise<void> {
    return this.jobs.enqueue('log', () => {
      const kept = this.log.findIndex((entry) => entry.index >= index);
      this.log = kept < 0 ? [] : this.log.slice(kept);
      return Promise.resolve();
    });
  }

  close(): Promise<void> {
    return this.jobs.idle();
  }
}
