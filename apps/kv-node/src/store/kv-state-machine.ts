/**
 * The state machine the replicated log applies committed entries to: decodes each command,
 * answers retries from the idempotency table, and applies the rest to the {@link KvStore}.
 */

import type { AuthApplyResult } from '../auth/auth-command.js';
import { AuthState } from '../auth/auth-state.js';
import { refusalOnApply } from '../auth/apply-authorization.js';
import { MalformedEncodingError } from '../codec/binary-reader.js';
import { BinaryWriter } from '../codec/binary-writer.js';
import { decodeCommand } from '../codec/command-codec.js';
import type { LeaseApplyResult } from '../lease/lease-command.js';
import {
  applyLeaseCommand,
  leaseRefusalOfWrite,
  mayWriteKeysOf,
  putsOfWrite,
  trackAttachments,
} from '../lease/lease-apply.js';
import { LeaseTable } from '../lease/lease-table.js';
import type { ByteString } from './byte-string.js';
import type { CommandResult, IdempotencyLimits, RememberedResult } from './idempotency-table.js';
import { DEFAULT_IDEMPOTENCY_LIMITS, IdempotencyTable } from './idempotency-table.js';
import { encodeSnapshot, SnapshotDecoder, type SnapshotView } from './kv-snapshot-codec.js';
import { KvStore } from './kv-store.js';
import type { CheckedSnapshot } from './snapshot-record-check.js';
import { SnapshotRecordCheck } from './snapshot-record-check.js';
import type {
  CapturedState,
  RecoveredState,
  StateBackendName,
  StateInstall,
  StateStore,
  StoreDiskUsage,
} from './state-store.js';
import { MemoryStateStore } from './state-store.js';
import type { ResponseOp } from './kv-types.js';
import { opsAddData } from './kv-types.js';
import type { MaintenanceCommand, MaintenanceResult } from './maintenance-command.js';
import { AlarmTable } from './maintenance-command.js';
import { MemberRegistry } from './member-registry.js';
import { CompactedRevisionError, FutureRevisionError } from './revision-errors.js';
import type { TxnReadLimits } from './txn-read-budget.js';
import { DEFAULT_TXN_READ_LIMITS, TxnReadBudget } from './txn-read-budget.js';

/** Options of {@link KvStateMachine} besides the idempotency limits. */
export interface KvStateMachineOptions {
  /**
   * Read budget of a write transaction applied where a client waits for it: its ranges stop
   * being read once the budget is spent (the leader admits no transaction over it, but the state
   * may have grown between admission and apply). Default {@link DEFAULT_TXN_READ_LIMITS}.
   */
  txnReadLimits?: TxnReadLimits;
  /**
   * Observes each applied write transaction that has ranges: how many were read (materialized)
   * and how many were not (`rangeNotRead`). Must not throw.
   */
  onTxnRanges?: (read: number, notRead: number) => void;
  /**
   * Where the state lives (see `state-store.ts`); default a new {@link MemoryStateStore}. A
   * durable store that recovered a state resumes from it: {@link KvStateMachine.appliedIndex}
   * starts at the index it covers.
   */
  stateStore?: StateStore;
  /**
   * Called after a compaction applied on a durable store, which commits it at once: the store's
   * file before and after (see {@link CompactionDiskReport}). Must not throw.
   */
  onCompacted?: (report: CompactionDiskReport) => void;
}

/** A durable store's file around a compaction (see {@link KvStateMachineOptions.onCompacted}). */
export interface CompactionDiskReport {
  /** The compact revision. */
  revision: number;
  /** As of the commit before the compaction. */
  before: StoreDiskUsage;
  /** Once the compaction's commit freed the pages it no longer needs. */
  after: StoreDiskUsage;
}

function countRanges(responses: readonly ResponseOp[], counts: [number, number]): void {
  for (const response of responses) {
    if (response.type === 'range') counts[0]++;
    else if (response.type === 'rangeNotRead') counts[1]++;
    else if (response.type === 'txn') countRanges(response.result.responses, counts);
  }
}

/** What applying one command produced. */
export type ApplyOutcome =
  /** Applied now. */
  | { status: 'applied'; result: CommandResult }
  /** A retry of a request id already applied: the first result, not applied again. */
  | { status: 'replayed'; result: CommandResult }
  /** The request id was first used for a different request; nothing applied. */
  | { status: 'rejected'; reason: 'idempotency_key_reused'; requestId: string }
  /**
   * An auth command was applied to {@link KvStateMachine.auth} (or refused, see `error`), or a
   * key-value write was refused by the auth check on apply (`error` says why; nothing applied).
   */
  | { status: 'auth'; result: AuthApplyResult }
  /**
   * A lease command was applied to {@link KvStateMachine.leases} (or refused, see `error`), or a
   * put or txn was refused because a lease it names is missing or full (nothing applied).
   */
  | { status: 'lease'; result: LeaseApplyResult }
  /** A maintenance command (compaction, alarm) was applied (see `maintenance-command.ts`). */
  | { status: 'maintenance'; result: MaintenanceResult }
  /**
   * A write refused as it was applied; nothing applied. `no_space`: it adds data while the
   * NOSPACE alarm is raised (etcd's "database space exceeded"). `compacted`, `future_revision`:
   * a range of the transaction reads at a revision the store cannot serve. `revision` is the
   * store's revision.
   */
  | { status: 'refused'; reason: RefusalReason; revision: number };

/** Why a write was refused on apply (see {@link ApplyOutcome}). */
export type RefusalReason = 'no_space' | 'compacted' | 'future_revision';

/**
 * The key-value state machine. Deterministic: replicas that apply the same commands in the same
 * order reach the same state and return the same outcomes.
 */
export class KvStateMachine {
  /** The store; read it directly for local (serializable) reads. */
  readonly store: KvStore;
  /** Users, roles and permissions (see `auth/`): replicated like the keys, in snapshots too. */
  readonly auth = new AuthState();
  /** Leases and the keys attached to them (see `lease/`): replicated, in snapshots too. */
  readonly leases = new LeaseTable();
  /** The raised alarms (NOSPACE refuses writes that add data): replicated, in snapshots too. */
  readonly alarms = new AlarmTable();
  /** Each member's name, ids and URLs (see `member-registry.ts`): replicated, in snapshots too. */
  readonly members = new MemberRegistry();
  readonly #idempotency: IdempotencyTable;
  readonly #txnReadLimits: TxnReadLimits;
  readonly #onTxnRanges: ((read: number, notRead: number) => void) | undefined;
  readonly #onCompacted: ((report: CompactionDiskReport) => void) | undefined;
  #appliedIndex = 0;
  readonly #stateStore: StateStore;
  /**
   * Commands up to this index are already in the recovered state: a node that replays its log
   * from an earlier point (its snapshot) must not apply them twice.
   */
  #recoveredThrough = 0;
  readonly #capture = (): CapturedState => this.#captureState();

  /**
   * @param limits bounds of the idempotency table.
   * @param options see {@link KvStateMachineOptions}.
   */
  constructor(
    limits: IdempotencyLimits = DEFAULT_IDEMPOTENCY_LIMITS,
    options: KvStateMachineOptions = {},
  ) {
    this.#idempotency = new IdempotencyTable(limits);
    this.#txnReadLimits = options.txnReadLimits ?? DEFAULT_TXN_READ_LIMITS;
    this.#onTxnRanges = options.onTxnRanges;
    this.#onCompacted = options.onCompacted;
    this.#stateStore = options.stateStore ?? new MemoryStateStore();
    this.store = new KvStore(this.#stateStore.maps);
    const recovered = this.#stateStore.recovered;
    if (recovered !== undefined) this.#resume(recovered);
  }

  /**
   * The log index through which the state store's recovered state stood when this machine was
   * built (0 for none, and after a snapshot install): commands up to it are not applied again.
   */
  durableAppliedIndex(): number {
    return this.#recoveredThrough;
  }

  /** A durable store's file size and use as of its last commit; `undefined` in memory. */
  diskUsage(): StoreDiskUsage | undefined {
    return this.#stateStore.diskUsage?.();
  }

  /** Which backend holds the state. */
  get backend(): StateBackendName {
    return this.#stateStore.backend;
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
   * The ranges of a write transaction are read only when `awaited` (a client waits on this
   * member for the result), within the read budget; elsewhere they come back as `rangeNotRead`
   * without visiting a key. What a range reads never changes the state, so every member still
   * reaches the same state and the same idempotency table.
   *
   * @param awaited whether a client waits on this member for the outcome (the proposer).
   * @throws MalformedEncodingError if the command does not decode (a bug or corruption: the node
   *   must stop rather than diverge).
   */
  apply(index: number, command: Uint8Array, awaited = true): ApplyOutcome | undefined {
    if (index <= this.#recoveredThrough) return undefined;
    this.#appliedIndex = index;
    const outcome = this.#applyCommand(command, awaited);
    this.#stateStore.applied(this.#capture);
    return outcome;
  }

  #applyCommand(command: Uint8Array, awaited: boolean): ApplyOutcome | undefined {
    if (command.byteLength === 0) return undefined;
    const { command: decoded, bodyFingerprint } = decodeCommand(command);
    // While auth is enabled, the user must still be allowed the write at this point of the log.
    const refusal = refusalOnApply(this.auth, decoded);
    if (refusal !== undefined) {
      return { status: 'auth', result: { authRevision: this.auth.revision, error: refusal } };
    }
    // Auth commands change no key and no revision, and are never retried by request id.
    if (decoded.type === 'auth') {
      return { status: 'auth', result: this.auth.apply(decoded.request) };
    }
    // Lease commands are never retried by request id either; a revoke deletes in one revision.
    if (decoded.type === 'lease') {
      const result = applyLeaseCommand(
        this.leases,
        this.store,
        this.auth,
        decoded.request,
        decoded.user,
      );
      return result === 'permissionDenied'
        ? { status: 'auth', result: { authRevision: this.auth.revision, error: result } }
        : { status: 'lease', result };
    }
    if (decoded.type === 'maintenance') {
      return { status: 'maintenance', result: this.#applyMaintenance(decoded.request) };
    }
    const requestId = decoded.requestId;
    if (requestId !== undefined) {
      const remembered = this.#idempotency.lookup(requestId);
      if (remembered !== undefined) {
        return remembered.bodyFingerprint === bodyFingerprint
          ? { status: 'replayed', result: remembered.result }
          : { status: 'rejected', reason: 'idempotency_key_reused', requestId };
      }
    }
    // The alarm is replicated state, so every member refuses the same writes (etcd's capped
    // applier): deletes and compaction still go through and can free space.
    if (
      this.alarms.has('NOSPACE') &&
      (decoded.type === 'put' ||
        (decoded.type === 'txn' &&
          (opsAddData(decoded.request.success) || opsAddData(decoded.request.failure))))
    ) {
      return { status: 'refused', reason: 'no_space', revision: this.store.revision };
    }
    if (decoded.type !== 'deleteRange') {
      // A put naming a missing (or full) lease is refused whole, as etcd refuses it.
      const leaseRefusal = leaseRefusalOfWrite(this.leases, putsOfWrite(decoded));
      if (leaseRefusal !== undefined) {
        return { status: 'lease', result: { revision: this.store.revision, error: leaseRefusal } };
      }
      // etcd's authApplierV3.Put: attaching needs write on the lease's keys too.
      const lease = decoded.type === 'put' ? decoded.request.lease : undefined;
      if (lease !== undefined && !mayWriteKeysOf(this.leases, this.auth, decoded.user, lease)) {
        return {
          status: 'auth',
          result: { authRevision: this.auth.revision, error: 'permissionDenied' },
        };
      }
    }
    let result: CommandResult;
    switch (decoded.type) {
      case 'put':
        result = { type: 'put', result: this.store.put(decoded.request) };
        trackAttachments(this.leases, this.store, decoded);
        break;
      case 'deleteRange':
        result = { type: 'deleteRange', result: this.store.deleteRange(decoded.request) };
        trackAttachments(this.leases, this.store, decoded);
        break;
      case 'txn': {
        const reads = awaited ? new TxnReadBudget(this.#txnReadLimits) : 'none';
        try {
          result = { type: 'txn', result: this.store.txn(decoded.request, reads) };
        } catch (error) {
          // Checked before anything is applied, on every member alike.
          const reason =
            error instanceof CompactedRevisionError
              ? 'compacted'
              : error instanceof FutureRevisionError
                ? 'future_revision'
                : undefined;
          if (reason === undefined) throw error;
          return { status: 'refused', reason, revision: this.store.revision };
        }
        trackAttachments(this.leases, this.store, { ...decoded, result: result.result });
        if (this.#onTxnRanges !== undefined) {
          const counts: [number, number] = [0, 0];
          countRanges(result.result.responses, counts);
          if (counts[0] + counts[1] > 0) this.#onTxnRanges(counts[0], counts[1]);
        }
        break;
      }
    }
    const revision = this.store.revision;
    if (requestId !== undefined) {
      this.#idempotency.remember(requestId, { revision, bodyFingerprint, result });
    }
    this.#idempotency.expire(revision);
    return { status: 'applied', result };
  }

  #applyMaintenance(command: MaintenanceCommand): MaintenanceResult {
    if (
      command.kind === 'member-put' ||
      command.kind === 'member-forget' ||
      command.kind === 'member-voter-request'
    ) {
      this.members.apply(command);
      return { revision: this.store.revision, alarms: [] };
    }
    if (command.kind === 'alarm') {
      const alarms =
        command.action === 'activate'
          ? this.alarms.activate(command.member)
          : this.alarms.deactivate(command.member);
      return { revision: this.store.revision, alarms };
    }
    try {
      this.store.compact(command.revision);
    } catch (error) {
      // Deterministic on every member: the same log gives the same compact revision.
      if (error instanceof CompactedRevisionError) {
        return { revision: this.store.revision, error: 'compacted', alarms: [] };
      }
      if (error instanceof FutureRevisionError) {
        return { revision: this.store.revision, error: 'future_revision', alarms: [] };
      }
      throw error;
    }
    this.#commitCompaction(command.revision);
    return { revision: this.store.revision, alarms: [] };
  }

  /**
   * Commits a compaction on a durable store at once, so that the pages it frees are reused from
   * the next commit on and the size it reports is current.
   */
  #commitCompaction(revision: number): void {
    const before = this.#stateStore.diskUsage?.();
    if (before === undefined) return;
    this.#stateStore.commit(this.#capture);
    const after = this.#stateStore.diskUsage?.() as StoreDiskUsage;
    this.#onCompacted?.({ revision, before, after });
  }

  /** The whole state (keys, revision, idempotency table, auth, leases, history, alarms, members) as bytes. */
  snapshot(): Uint8Array {
    this.#stateStore.commit(this.#capture);
    const view = this.#snapshotView();
    let estimate = 64;
    for (let index = 0; index < view.keys.length; index++) {
      estimate += (view.keys[index] as ByteString).length + (view.packed[index] as string).length;
      estimate += 8;
    }
    for (const [requestId] of view.remembered) estimate += 3 * requestId.length + 96;
    estimate += (view.auth?.byteLength ?? 0) + (view.leases?.byteLength ?? 0) + 16;
    const history = view.history;
    if (history !== undefined) {
      for (let index = 0; index < history.keys.length; index++) {
        estimate += (history.keys[index] as ByteString).length + 8;
        for (const record of history.records[index] ?? []) {
          estimate += typeof record === 'number' ? 10 : record.length + 6;
        }
      }
      for (const [, keys] of history.changes) {
        estimate += 8;
        for (const key of keys) estimate += key.length + 4;
      }
    }
    estimate += 16 + 32 * (view.alarms?.length ?? 0) + 256 * this.members.list().length;
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
    // A durable store commits first: its state on disk is then at least the snapshot's, which
    // lets the node drop the log the snapshot covers.
    this.#stateStore.commit(this.#capture);
    const chunkSize = Math.max(64, chunkBytes);
    const streamed = this.#stateStore.openCommittedEntries?.();
    // Streamed from one LMDB read transaction, opened with nothing applied since the commit, so
    // it and the rest of the state are as of the same index.
    if (streamed !== undefined) {
      return encodeSnapshot({ ...this.#restView(), streamed }, chunkSize, 0);
    }
    return encodeSnapshot(this.#snapshotView(), chunkSize, 0);
  }

  #snapshotView(): SnapshotView {
    return {
      ...this.#restView(),
      ...this.store.packedView(),
      history: this.store.historyView(),
    };
  }

  /**
   * The state besides the keys, the history records and the revision log, as a snapshot view
   * without them.
   */
  #restView(withRemembered = true): SnapshotView {
    const remembered: [string, RememberedResult][] = [];
    if (withRemembered) {
      this.#idempotency.forEach((requestId, entry) => remembered.push([requestId, entry]));
    }
    const auth = new BinaryWriter(256);
    this.auth.encode(auth);
    const leases = new BinaryWriter(256);
    this.leases.encode(leases);
    const revision = this.store.revision;
    return {
      revision,
      keys: [],
      packed: [],
      remembered,
      auth: auth.finishExact(),
      leases: leases.finishExact(),
      // The keys, history and revision log live in the state store's maps.
      history: { compactRevision: this.store.compactRevision, keys: [], records: [], changes: [] },
      alarms: this.alarms.list(),
      members: this.members,
    };
  }

  /** What a durable state store commits beside its maps (see {@link CapturedState}). */
  #captureState(): CapturedState {
    // A store that keeps the idempotency table as records writes only what changed of it.
    const ownRecords = this.#stateStore.keepsRememberedRecords === true;
    const chunks = [...encodeSnapshot(this.#restView(!ownRecords), Infinity, 4096)];
    return {
      appliedIndex: this.#appliedIndex,
      accountedBytes: this.store.accountedBytes,
      rest: chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks),
      ...(ownRecords ? { remembered: this.#idempotency } : {}),
    };
  }

  /**
   * Takes up a state a durable store recovered (its maps already hold the keys, the history and
   * the revision log, read from disk as they are used).
   */
  #resume(recovered: RecoveredState): void {
    const decoder = new SnapshotDecoder();
    decoder.push(recovered.rest);
    const view = decoder.finish();
    this.store.resume({
      revision: view.revision,
      compactRevision: view.history?.compactRevision ?? view.revision,
      accountedBytes: recovered.accountedBytes,
    });
    this.#installRest(view);
    const remembered = recovered.remembered;
    if (remembered !== undefined) {
      this.#idempotency.resume(remembered.firstSequence, remembered.entries);
    }
    this.#appliedIndex = recovered.appliedIndex;
    this.#recoveredThrough = recovered.appliedIndex;
  }

  /** Replaces the state besides the keys and history with a snapshot's. */
  #installRest(view: SnapshotView): void {
    this.alarms.replaceWith(view.alarms ?? []);
    // Snapshots before the registry (format 4) describe no member: the initial ones are known
    // from --initial-cluster.
    const registry = view.members ?? new MemberRegistry();
    this.members.replaceWith(registry.list(), registry.removedIds(), registry.voterRequests());
    this.#idempotency.clear();
    for (const [requestId, entry] of view.remembered) this.#idempotency.remember(requestId, entry);
    this.auth.replaceWith(view.authState ?? new AuthState());
    this.leases.replaceWith(view.leaseTable ?? new LeaseTable());
    // Snapshots keep today's attachments, not each past entry's: current entries get theirs.
    this.leases.forEachAttachedKey((key, id) => this.store.noteCurrentLease(key, id));
  }

  /**
   * Replaces the state with a snapshot taken at log `index`.
   *
   * @throws MalformedEncodingError if the bytes are not a snapshot of this format.
   */
  restore(snapshot: Uint8Array, index: number): void {
    const restoring = this.#beginRestore();
    try {
      restoring.decoder.push(snapshot);
    } catch (error) {
      throw restoring.refused(error);
    }
    restoring.finish(index);
  }

  /**
   * Replaces the state with a snapshot read in chunks cut at any byte (as `@x/leader-follower`
   * streams it from disk): never holds the whole encoding, and replaces nothing until the chunks
   * have ended without error. A durable store with {@link StateStore.beginInstall} takes the keys,
   * histories and revisions in bounded batches as they arrive, beside its live state, and
   * switches to them in one commit; in memory the snapshot is decoded whole, then loaded.
   *
   * @throws MalformedEncodingError if the bytes are not a snapshot of this format; whatever the
   *   iteration throws (a failed checksum). The state is then as it was.
   */
  async restoreChunks(chunks: AsyncIterable<Uint8Array>, index: number): Promise<void> {
    const restoring = this.#beginRestore();
    try {
      for await (const chunk of chunks) restoring.decoder.push(chunk);
    } catch (error) {
      throw restoring.refused(error);
    }
    restoring.finish(index);
  }

  /**
   * A restore under way, whichever way its bytes arrive: the decoder to push them into, `finish`
   * once they have all arrived, and `refused` for an error while they arrive. A durable store
   * with {@link StateStore.beginInstall} gets each record, checked, as it arrives, and a refusal
   * empties what it wrote; in memory the snapshot is decoded whole at the end.
   */
  #beginRestore(): {
    decoder: SnapshotDecoder;
    finish(index: number): void;
    refused(error: unknown): unknown;
  } {
    const install = this.#stateStore.beginInstall?.();
    if (install === undefined) {
      const decoder = new SnapshotDecoder();
      return {
        decoder,
        finish: (index) => this.#install(decoder.finish(), index),
        refused: (error) => error,
      };
    }
    const check = new SnapshotRecordCheck(install);
    const decoder = new SnapshotDecoder(check);
    return {
      decoder,
      finish: (index) => {
        let view: SnapshotView;
        try {
          view = decoder.finish();
          install.adopt(check.checked.maps);
        } catch (error) {
          throw installRefused(install, error);
        }
        this.#adoptInstalled(view, check.checked, index);
      },
      refused: (error) => installRefused(install, error),
    };
  }

  /**
   * Takes up a snapshot whose keys, histories and revisions a durable store has adopted (its
   * maps read them now), and commits: the commit that makes it the store's state on disk.
   */
  #adoptInstalled(view: SnapshotView, checked: CheckedSnapshot, index: number): void {
    this.store.resume(checked.counters);
    this.#installRest(view);
    this.#appliedIndex = index;
    this.#recoveredThrough = 0;
    this.#stateStore.commit(this.#capture);
  }

  #install(view: SnapshotView, index: number): void {
    try {
      this.store.loadPacked(view.revision, view.keys, view.packed);
      if (view.history !== undefined) this.store.loadHistory(view.history);
      this.#installRest(view);
    } catch (error) {
      throw new MalformedEncodingError(`snapshot keys: ${(error as Error).message}`);
    }
    this.#appliedIndex = index;
    this.#recoveredThrough = 0;
    // One commit replaces a durable store's contents whole: a crash leaves the old state or this.
    this.#stateStore.commit(this.#capture);
  }

  /** Releases the state store (a durable one keeps what it last committed). */
  close(): void {
    this.#stateStore.close();
  }
}

/**
 * Abandons a snapshot install that failed (emptying what it wrote) and says why: a record that
 * failed its check is malformed data, as when the snapshot is loaded whole.
 */
function installRefused(install: StateInstall, error: unknown): unknown {
  const refusal =
    error instanceof RangeError
      ? new MalformedEncodingError(`snapshot keys: ${error.message}`)
      : error;
  try {
    install.abandon();
  } catch (abandonError) {
    return new AggregateError(
      [refusal, abandonError],
      'snapshot install failed, and emptying what it wrote failed too',
    );
  }
  return refusal;
}
