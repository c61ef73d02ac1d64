/**
 * Opens the state store `--backend` names, in a member's data directory.
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkLmdbFileHeader } from './lmdb-file-header.js';
import { LmdbStateStore } from './lmdb-state-store.js';
import type { StateBackendName, StateStore } from './state-store.js';
import { MemoryStateStore } from './state-store.js';

/** The LMDB file in a data directory (LMDB keeps its lock beside it, `kv-state.mdb-lock`). */
export const LMDB_STATE_FILE = 'kv-state.mdb';

/**
 * The state store of `backend`: a new in-memory one, or the LMDB file in `dataDirectory`
 * (created with the directory when missing).
 *
 * @throws Error if the LMDB file is damaged (see `lmdb-file-header.ts`), cannot be opened or holds
 *   another layout.
 */
export function openStateStore(backend: StateBackendName, dataDirectory: string): StateStore {
  if (backend === 'memory') return new MemoryStateStore();
  mkdirSync(dataDirectory, { recursive: true });
  const path = join(dataDirectory, LMDB_STATE_FILE);
  checkLmdbFileHeader(path);
  return new LmdbStateStore(path);
}
