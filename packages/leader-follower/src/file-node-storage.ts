import { FileGenerationStore } from '@x/generation-clock';
import { WalClosedError, WriteAheadLog } from '@x/wal';
import type { FileSystem, NewEntry, WalEntry, WriteAheadLogOptions } from '@x/wal';
import type { Random } from './core-types.js';
import { MemberStorageLostError } from './errors.js';
import { isHollowEntry } from './log-entry.js';
import type { HardState, LogEntry, SnapshotMetadata } from './log-entry.js';
import { decodeMemberState, encodeMemberState, type MemberState } from './member-state.js';
import type {
  MemberStateChange,
  NodeStorage,
  PersistBatch,
  RecoveredNodeState,
  SnapshotToSave,
} from './node-storage.js';
import { SnapshotFile, type StoredSnapshot } from './snapshot-file.js';
import { StorageJobQueue } from './storage-job-queue.js';
import { RecoveredTail, type RecoverOptions } from './recovered-tail.js';
import {
  hardStateAfterRecovery,
  mergeChanges,
  newStorageId,
  PersistOrder,
  recordableMemberState,
  type StorageLogger,
} from './storage-rules.js';

const ENTRY_TYPE_EMPTY = 0;
const ENTRY_TYPE_COMMAND = 1;
const ENTRY_TYPE_CONFIGURATION = 2;
const ENTRY_TYPES: Record<LogEntry['kind'], number> = {
  empty: ENTRY_TYPE_EMPTY,
  command: ENTRY_TYPE_COMMAND,
  configuration: ENTRY_TYPE_CONFIGURATION,
};
const LOG_DIRECTORY_PREFIX = 'log-';

/** Options of {@link FileNodeStorage}. */
export interface FileNodeStorageOptions {
  /** This member's id (named in errors). */
  readonly id: string;
  readonly fileSystem: FileSystem;
  /** Directory for the log, the vote and snapshots; locked while open. */
  readonly dataDirectory: string;
  /** Draws a new storage's identity. */
  readonly random: Random;
  readonly logger?: StorageLogger;
  /**
   * Write-ahead log tuning: segment size, and durability (anything but the default `group` is
   * unsafe outside tests).
   */
  readonly wal?: Pick<WriteAheadLogOptions, 'durability' | 'maxSegmentBytes' | 'syncIntervalMs'>;
}

const silentLogger: StorageLogger = { info: () => undefined };

/**
 * A node's storage in a data directory: `generation` (generation, vote and member state, replaced
 * atomically by @x/generation-clock's file store), `snapshot` (the latest snapshot, replaced
 * atomically) and `log-<firstIndex>/` (the write-ahead log; entries are records with their
 * index, generation and kind). Installing a snapshot from the leader starts a fresh
 * `log-<snapshotIndex + 1>/` and then removes the old one.
 *
 * Every read and write goes through one `StorageJobQueue`, whose comments give the ordering
 * rules.
 */
export class FileNodeStorage implements NodeStorage {
  private readonly logger: StorageLogger;
  private readonly generationStore: FileGenerationStore;
  private readonly snapshotFile: SnapshotFile;
  private readonly jobs = new StorageJobQueue();
  private readonly persistOrder = new PersistOrder();
  private wal: WriteAheadLog | undefined;
  private hardState: HardState = { generation: 0, votedFor: undefined };
  private currentMemberState: MemberState | undefined;
  /** The member-state change waiting for the next generation-file write. */
  private pendingChange: MemberStateChange = {};
  /** The snapshot the file holds now. */
  private savedSnapshot: SnapshotMetadata | undefined;
  /** Highest index this storage holds durably (log or snapshot): what may be recorded as acknowledged. */
  private durableThrough = 0;

  constructor(private readonly options: FileNodeStorageOptions) {
    this.logger = options.logger ?? silentLogger;
    this.generationStore = new FileGenerationStore({
      fileSystem: options.fileSystem,
      directory: options.dataDirectory,
    });
    this.snapshotFile = new SnapshotFile(options.fileSystem, options.dataDirectory);
  }

  /** The generation file's path (named in errors). */
  get generationPath(): string {
    return this.generationStore.path;
  }

  get memberState(): MemberState {
    if (this.currentMemberState === undefined) throw new Error('storage not recovered');
    return this.currentMemberState;
  }

  async recover(options: RecoverOptions = {}): Promise<RecoveredNodeState> {
    const { fileSystem, dataDirectory: directory, id } = this.options;
    await fileSystem.mkdir(directory);
    const saved = await this.generationStore.load();
    const memberState =
      saved?.attachment === undefined
        ? undefined
        : decodeMemberState(saved.attachment, this.generationStore.path);
    if (memberState?.lostReportedBy !== undefined) {
      throw new MemberStorageLostError(
        id,
        'marked-lost',
        `an earlier run stopped because ${memberState.lostReportedBy} reported this member's storage (${memberState.storageId}) as replaced; recorded in ${this.generationStore.path}`,
        memberState.lostReportedBy,
      );
    }
    const snapshot = await this.snapshotFile.open();
    try {
      await this.snapshotFile.discardIncoming();
      const snapshotIndex = snapshot?.metadata.index ?? 0;
      // The tail is built from the entries the log's open scan checks, so a restart reads the
      // log once. Each command is a view into the scan's buffer, valid during the call: the tail
      // copies only the entries it keeps whole. If the open fails, this tail is dropped with it.
      const tail = new RecoveredTail(options, false);
      const wal = await this.openLog(snapshotIndex, memberState, (record) => {
        if (record.index > snapshotIndex) tail.add(entryOf(record), true);
      });
      try {
        return await this.recoverWith(wal, { saved, memberState, snapshot }, tail.finish());
      } catch (error) {
        // Do not leave an abandoned log running (and failing) behind a failed start.
        await wal.close().catch(() => undefined);
        this.wal = undefined;
        throw error;
      }
    } catch (error) {
      await snapshot?.close();
      throw error;
    }
  }

  /**
   * Opens the newest log directory (or a fresh one after the snapshot) and removes the others.
   * `onRecoveredEntry` sees the entries of the log opened, as the WAL's open scan checks them (a
   * log that ends before the snapshot is replaced by a fresh one, and held none after it).
   */
  private async openLog(
    snapshotIndex: number,
    memberState: MemberState | undefined,
    onRecoveredEntry: (record: WalEntry) => void,
  ): Promise<WriteAheadLog> {
    const { fileSystem, dataDirectory: directory, id } = this.options;
    const logDirectories = (await fileSystem.readdir(directory))
      .filter((name) => name.startsWith(LOG_DIRECTORY_PREFIX))
      .map((name) => Number(name.slice(LOG_DIRECTORY_PREFIX.length)))
      .filter((first) => Number.isSafeInteger(first))
      .sort((a, b) => a - b);
    const newest = logDirectories.at(-1);
    if (newest === undefined && memberState !== undefined) {
      // The log directory is created before anything is recorded beside the vote, and a new one
      // always before the old one is removed: it was deleted.
      throw new MemberStorageLostError(
        id,
        'log-missing',
        `${directory} holds this member's state (storage ${memberState.storageId}, acknowledged through ${memberState.acknowledgedIndex}) but no ${LOG_DIRECTORY_PREFIX}*/ log directory`,
      );
    }
    let wal: WriteAheadLog | undefined;
    let walFirstIndex = snapshotIndex + 1;
    if (newest !== undefined) {
      wal = await WriteAheadLog.open(`${directory}/${LOG_DIRECTORY_PREFIX}${newest}`, {
        ...this.walOptions(),
        firstIndex: newest,
        onRecoveredEntry,
      });
      walFirstIndex = newest;
      if (wal.lastIndex < snapshotIndex) {
        // The log ends before the snapshot (a crash during a snapshot install, which renames the
        // snapshot into place before it starts the new log): start afresh after the snapshot.
        await wal.close();
        wal = undefined;
        walFirstIndex = snapshotIndex + 1;
      } else if (wal.firstIndex > snapshotIndex + 1) {
        const gap = `${directory}/${LOG_DIRECTORY_PREFIX}${newest} starts at entry ${wal.firstIndex} but the snapshot ends at ${snapshotIndex}`;
        await wal.close();
        throw new MemberStorageLostError(id, 'log-gap', gap);
      }
    }
    wal ??= await this.openFreshLog(walFirstIndex);
    try {
      await this.removeOtherLogs(walFirstIndex);
    } catch (error) {
      await wal.close().catch(() => undefined);
      throw error;
    }
    this.wal = wal;
    return wal;
  }

  private async recoverWith(
    wal: WriteAheadLog,
    stored: {
      saved: { generation: number; votedFor?: string } | undefined;
      memberState: MemberState | undefined;
      snapshot: StoredSnapshot | undefined;
    },
    entries: LogEntry[],
  ): Promise<RecoveredNodeState> {
    const { saved, snapshot } = stored;
    const snapshotIndex = snapshot?.metadata.index ?? 0;
    if (wal.recovery.tornTail !== undefined) {
      this.logger.info({ ...wal.recovery.tornTail }, 'torn tail repaired');
    }
    const lastIndex = Math.max(snapshotIndex, entries.at(-1)?.index ?? 0);
    const recorded = stored.memberState;
    if (recorded !== undefined && lastIndex < recorded.acknowledgedIndex) {
      throw new MemberStorageLostError(
        this.options.id,
        'log-shorter-than-acknowledged',
        `the log in ${this.options.dataDirectory}/${LOG_DIRECTORY_PREFIX}${wal.firstIndex} ends at entry ${lastIndex} (snapshot ${snapshotIndex}), but this member recorded entries through ${recorded.acknowledgedIndex} as durably acknowledged in ${this.generationStore.path}`,
      );
    }
    const hardState = hardStateAfterRecovery(saved, snapshot?.metadata, entries);
    let memberState = recorded;
    this.hardState = hardState;
    if (memberState === undefined) {
      // New storage (or storage from before identities): its identity is durable before this
      // member sends anything, so peers can tell it from any storage it replaces.
      memberState = {
        storageId: newStorageId(this.options.random),
        acknowledgedIndex: 0,
        peerStorageIds: new Map(),
      };
      this.currentMemberState = memberState;
      await this.writeGenerationFile();
      this.logger.info({ storageId: memberState.storageId }, 'storage identity created');
    } else {
      this.currentMemberState = memberState;
      if (hardState.generation !== (saved?.generation ?? 0)) await this.writeGenerationFile();
    }
    this.savedSnapshot = snapshot?.metadata;
    this.durableThrough = lastIndex;
    return { hardState, memberState, snapshot, entries };
  }

  persist(batch: PersistBatch): Promise<void> {
    const steps: Promise<unknown>[] = [];
    for (const chunk of batch.snapshotChunks) {
      steps.push(
        this.jobs.enqueue('snapshot', () =>
          this.snapshotFile.writeIncoming(chunk.offset, chunk.data),
        ),
      );
    }
    const install = batch.snapshotToInstall;
    if (install !== undefined) {
      steps.push(this.jobs.enqueue('barrier', () => this.install(install)));
    }
    if (batch.hardState !== undefined) {
      this.hardState = batch.hardState;
      steps.push(this.writeStateSoon());
    }
    if (batch.entries.length > 0) {
      const entries = batch.entries;
      steps.push(this.jobs.enqueue('log', () => this.append(entries)));
    }
    return this.persistOrder.settleInOrder(steps);
  }

  recordMemberState(change: MemberStateChange): Promise<void> {
    this.pendingChange = mergeChanges(this.pendingChange, change);
    return this.writeStateSoon();
  }

  /**
   * Queues a generation-file write, or joins the one queued and not started: it writes the
   * latest generation, vote and member state when it starts.
   */
  private writeStateSoon(): Promise<void> {
    if (this.queuedStateWrite !== undefined) return this.queuedStateWrite;
    let started = false;
    const write = this.jobs.enqueue('state', async () => {
      started = true;
      this.queuedStateWrite = undefined;
      await this.writeGenerationFile();
    });
    // The job may have started already, within enqueue (the lane was idle).
    if (!started) this.queuedStateWrite = write;
    return write;
  }

  /** The generation-file write queued and not started: later changes join it. */
  private queuedStateWrite: Promise<void> | undefined;

  private async writeGenerationFile(): Promise<void> {
    const change = this.pendingChange;
    this.pendingChange = {};
    this.currentMemberState = recordableMemberState(this.memberState, change, this.durableThrough);
    const memberState = this.currentMemberState;
    const hardState = this.hardState;
    const attachment = encodeMemberState(memberState);
    await this.generationStore.save(
      hardState.votedFor === undefined
        ? { generation: hardState.generation, attachment }
        : { generation: hardState.generation, votedFor: hardState.votedFor, attachment },
    );
  }

  /**
   * Issues the log writes of one Ready. Not an async function: the usual append (no conflicting
   * suffix) completes with one reaction on the log's own promise, on the commit path.
   */
  private append(entries: readonly LogEntry[]): Promise<void> {
    const wal = this.openedLog();
    const records = new Array<NewEntry>(entries.length);
    for (let position = 0; position < entries.length; position++) {
      const entry = entries[position]!;
      if (isHollowEntry(entry)) throw new Error(`entry ${entry.index} to persist has no bytes`);
      records[position] = {
        index: entry.index,
        generation: entry.generation,
        type: ENTRY_TYPES[entry.kind],
        payload: entry.command,
      };
    }
    const first = entries[0]!;
    const lastIndex = entries[entries.length - 1]!.index;
    let written: Promise<unknown>;
    if (first.index <= wal.lastIndex) {
      // A conflicting suffix: the WAL makes the truncation durable before the appends that follow.
      this.logger.info({ from: first.index }, 'divergent suffix truncated');
      this.durableThrough = Math.min(this.durableThrough, first.index - 1);
      const truncated = wal.truncateSuffix(first.index);
      written = Promise.all([truncated, wal.appendAll(records)]);
    } else {
      written = wal.appendAll(records);
    }
    return written.then(() => {
      if (wal === this.wal) this.durableThrough = lastIndex;
    });
  }

  /** The barrier job of a snapshot install: the file, a fresh log, then the state machine. */
  private async install(install: NonNullable<PersistBatch['snapshotToInstall']>): Promise<void> {
    const { metadata } = install;
    const installed = await this.snapshotFile.installIncoming(metadata);
    try {
      this.savedSnapshot = metadata;
      await this.openedLog().close();
      this.wal = await this.openFreshLog(metadata.index + 1);
      await this.removeOtherLogs(metadata.index + 1);
      this.durableThrough = metadata.index;
      await install.restore(installed);
    } finally {
      await installed.close();
    }
  }

  saveSnapshot(snapshot: SnapshotToSave): Promise<SnapshotMetadata> {
    return this.jobs.enqueue('snapshot', async () => {
      // Never move the file back: a leader's newer snapshot may have been installed meanwhile.
      const current = this.savedSnapshot;
      if (current !== undefined && current.index >= snapshot.index) return current;
      const metadata = await this.snapshotFile.save(snapshot);
      this.savedSnapshot = metadata;
      return metadata;
    });
  }

  readSnapshotRange(
    snapshotIndex: number,
    offset: number,
    length: number,
  ): Promise<Uint8Array | undefined> {
    return this.jobs.enqueue('snapshot', async () => {
      if (this.savedSnapshot?.index !== snapshotIndex) return undefined;
      return this.snapshotFile.readRange(offset, length);
    });
  }

  readEntries(from: number, to: number): Promise<LogEntry[] | undefined> {
    return this.jobs.enqueue('log', async () => {
      const wal = this.openedLog();
      let records: WalEntry[];
      try {
        records = await wal.readRange(from, to);
      } catch (error) {
        // RangeError: no longer in the log. A log closed meanwhile is not a storage failure.
        if (error instanceof RangeError || error instanceof WalClosedError) return undefined;
        throw error;
      }
      if (records.length !== to - from + 1) return undefined;
      return records.map(entryOf);
    });
  }

  async releaseBelow(index: number): Promise<void> {
    await this.jobs.enqueue('log', () => this.openedLog().releaseBelow(index));
  }

  async close(): Promise<void> {
    await this.jobs.idle();
    await this.wal?.close();
  }

  private openedLog(): WriteAheadLog {
    if (this.wal === undefined) throw new Error('storage not recovered');
    return this.wal;
  }

  private walOptions(): WriteAheadLogOptions {
    return {
      ...this.options.wal,
      fileSystem: this.options.fileSystem,
      ...(this.options.logger === undefined ? {} : { logger: this.options.logger }),
    } as WriteAheadLogOptions;
  }

  private async openFreshLog(firstIndex: number): Promise<WriteAheadLog> {
    const { fileSystem, dataDirectory: directory } = this.options;
    const path = `${directory}/${LOG_DIRECTORY_PREFIX}${firstIndex}`;
    await removeDirectory(fileSystem, path);
    await fileSystem.mkdir(path);
    await fileSystem.syncDirectory(directory);
    return WriteAheadLog.open(path, { ...this.walOptions(), firstIndex });
  }

  private async removeOtherLogs(keepFirstIndex: number): Promise<void> {
    const { fileSystem, dataDirectory: directory } = this.options;
    for (const name of await fileSystem.readdir(directory)) {
      if (
        name.startsWith(LOG_DIRECTORY_PREFIX) &&
        name !== `${LOG_DIRECTORY_PREFIX}${keepFirstIndex}`
      ) {
        await removeDirectory(fileSystem, `${directory}/${name}`);
      }
    }
  }
}

function entryOf(record: WalEntry): LogEntry {
  return {
    index: record.index,
    generation: record.generation,
    kind: entryKindOf(record),
    command: record.payload,
  };
}

/** The kind of a stored entry (records of earlier releases are only `empty` or `command`). */
function entryKindOf(record: WalEntry): LogEntry['kind'] {
  if (record.type === ENTRY_TYPE_EMPTY) return 'empty';
  if (record.type === ENTRY_TYPE_CONFIGURATION) return 'configuration';
  return 'command';
}

/** Deletes a log directory's files (the directory itself stays, empty, if the port cannot remove it). */
async function removeDirectory(fileSystem: FileSystem, path: string): Promise<void> {
  if (!(await fileSystem.exists(path))) return;
  for (const name of await fileSystem.readdir(path)) await fileSystem.unlink(`${path}/${name}`);
  await fileSystem.syncDirectory(path);
}
