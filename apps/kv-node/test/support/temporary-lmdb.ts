/**
 * LMDB state files for store tests: each in a fresh temporary directory; after each test every
 * store still open is closed and every directory removed (vitest's `afterEach`, registered when
 * {@link temporaryLmdbStores} is called at a test file's top level).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { InstallBatchLimits } from '../../src/store/lmdb-snapshot-install.js';
import type { LmdbCommitPolicy } from '../../src/store/lmdb-state-store.js';
import { LmdbStateStore } from '../../src/store/lmdb-state-store.js';

/** See {@link temporaryLmdbStores}. */
export interface TemporaryLmdbStores {
  /** A new state file's path, in a directory of its own. */
  path(): string;
  /** Opens a store on `path`, closed after the test unless closed before. */
  open(path: string, policy?: LmdbCommitPolicy, batch?: InstallBatchLimits): LmdbStateStore;
  /** The store opened last and not yet closed or forgotten. */
  latest(): LmdbStateStore;
  /** Closes the store opened last. */
  closeLatest(): void;
  /** Forgets the store opened last, which the test closed itself (through its state machine). */
  forgetLatest(): void;
}

/** @param prefix the temporary directories' name prefix, e.g. `kv-install-`. */
export function temporaryLmdbStores(prefix: string): TemporaryLmdbStores {
  const directories: string[] = [];
  const stores: LmdbStateStore[] = [];
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
    for (const directory of directories.splice(0)) {
      rmSync(directory, { recursive: true, force: true });
    }
  });
  return {
    path: () => {
      const directory = mkdtempSync(join(tmpdir(), prefix));
      directories.push(directory);
      return join(directory, 'state.mdb');
    },
    open: (path, policy, batch) => {
      const store = new LmdbStateStore(path, policy, batch);
      stores.push(store);
      return store;
    },
    latest: () => {
      const store = stores.at(-1);
      if (store === undefined) throw new Error('no LMDB store is open');
      return store;
    },
    closeLatest: () => stores.pop()?.close(),
    forgetLatest: () => void stores.pop(),
  };
}
