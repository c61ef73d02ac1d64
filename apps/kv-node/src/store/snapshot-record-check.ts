/**
 * Checks a snapshot's keys, histories and logged revisions one at a time, as a decoder hands
 * them over (`SnapshotRecordSink`), by the rules `KvStore.loadPacked` and `KvStore.loadHistory`
 * apply to a snapshot decoded whole: well-formed entries, keys strictly ascending, history
 * records in order and not above the snapshot's revision, revisions consecutive from the compact
 * revision. It sums the accounted size as it goes, the same way, and passes each record on only
 * once it passed: a durable store's install (`StateStore.beginInstall`) writes nothing unchecked.
 */

import type { ByteString } from './byte-string.js';
import type { KeyHistory } from './key-history.js';
import type { SnapshotRecordSink } from './kv-snapshot-codec.js';
import type { KvStoreCounters } from './kv-store.js';
import {
  CHANGE_COST,
  checkLoggedRevision,
  checkSnapshotHistory,
  firstLoggedRevision,
  historyKeyCost,
  liveKeyCost,
} from './kv-store.js';
import type { PackedEntry } from './packed-entry.js';
import { isWellFormedEntry } from './packed-entry.js';
import type { InstalledMaps, SnapshotRecordTarget } from './state-store.js';

/** What a checked snapshot installs: its maps' counts and the store's counters. */
export interface CheckedSnapshot {
  maps: InstalledMaps;
  counters: KvStoreCounters;
}

/** See the module comment. @throws RangeError from each call whose record fails a check. */
export class SnapshotRecordCheck implements SnapshotRecordSink {
  readonly #target: SnapshotRecordTarget;
  #revision = 0;
  #accountedBytes = 0;
  #keyCount = 0;
  #lastKey: ByteString = '';
  /** Absent until the snapshot names it (formats without history never do). */
  #compactRevision: number | undefined;
  #historyKeyCount = 0;
  #lastHistoryKey: ByteString = '';
  #firstChangeRevision = 0;
  #nextChangeRevision = 0;
  #changeCount = 0;

  /** @param target where each record goes once checked. */
  constructor(target: SnapshotRecordTarget) {
    this.#target = target;
  }

  begin(revision: number): void {
    this.#revision = revision;
    // Without history (formats before 4) nothing below the snapshot's revision can be read.
    this.#firstChangeRevision = revision + 1;
    this.#nextChangeRevision = revision + 1;
  }

  key(key: ByteString, packed: PackedEntry): void {
    if (!isWellFormedEntry(packed)) {
      throw new RangeError(`malformed entry for key #${this.#keyCount}`);
    }
    if (this.#keyCount > 0 && this.#lastKey >= key) {
      throw new RangeError(`keys not strictly ascending at ${this.#keyCount}`);
    }
    this.#target.key(key, packed);
    this.#lastKey = key;
    this.#keyCount++;
    this.#accountedBytes += liveKeyCost(key, packed);
  }

  beginHistory(compactRevision: number): void {
    if (compactRevision > this.#revision) {
      throw new RangeError(`compact revision ${compactRevision} above ${this.#revision}`);
    }
    this.#compactRevision = compactRevision;
    this.#firstChangeRevision = firstLoggedRevision(compactRevision);
    this.#nextChangeRevision = this.#firstChangeRevision;
  }

  history(key: ByteString, records: KeyHistory): void {
    checkSnapshotHistory(records, this.#revision, this.#historyKeyCount);
    if (this.#historyKeyCount > 0 && this.#lastHistoryKey >= key) {
      throw new RangeError(`keys not strictly ascending at ${this.#historyKeyCount}`);
    }
    this.#target.history(key, records);
    this.#lastHistoryKey = key;
    this.#historyKeyCount++;
    this.#accountedBytes += historyKeyCost(key, records);
  }

  change(revision: number, keys: ByteString[]): void {
    checkLoggedRevision(revision, keys, this.#nextChangeRevision, this.#revision);
    this.#target.change(revision, keys);
    this.#nextChangeRevision++;
    this.#changeCount += keys.length;
    this.#accountedBytes += keys.length * CHANGE_COST;
  }

  /** What the records passed so far make: once the decoder finished, the whole snapshot's. */
  get checked(): CheckedSnapshot {
    return {
      maps: {
        keyCount: this.#keyCount,
        historyKeyCount: this.#historyKeyCount,
        firstChangeRevision: this.#firstChangeRevision,
        lastChangeRevision: this.#nextChangeRevision - 1,
        changeCount: this.#changeCount,
      },
      counters: {
        revision: this.#revision,
        compactRevision: this.#compactRevision ?? this.#revision,
        accountedBytes: this.#accountedBytes,
      },
    };
  }
}
