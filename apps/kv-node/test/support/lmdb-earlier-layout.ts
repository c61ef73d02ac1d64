/**
 * Turns a closed LMDB state file into what an earlier layout wrote, for tests that a file of
 * that layout still opens: layout 2 stored the revision log one record per revision, keyed by
 * the revision; layout 1 also had no second set (its meta record names none).
 */

import { open } from 'lmdb';
import { revisionKey } from '../../src/store/lmdb-revision-log.js';
import { blockEntries, isBlockKey } from '../../src/store/revision-blocks.js';

/** Rewrites the live revision log of the file at `path` as `layout` (1 or 2) stored it. */
export function rewriteAsEarlierLayout(path: string, layout: 1 | 2): void {
  const root = open({ path, maxDbs: 12 });
  try {
    const meta = root.openDB<Record<string, unknown>, string>({
      name: 'meta',
      encoding: 'msgpack',
    });
    const state = meta.get('state') as Record<string, unknown>;
    // Earlier layouts kept the idempotency table in the rest: a file whose records hold ids
    // cannot be turned into one here (the tests that use this remember no id).
    if (state.rememberedFirst !== state.rememberedNext) {
      throw new Error('the file keeps remembered ids as records (layout 4)');
    }
    const suffix = state.liveSet === 1 ? '.1' : '';
    if (layout === 1 && suffix !== '') throw new Error('layout 1 had only the first set');
    const changes = root.openDB<Buffer, Buffer>({
      name: `changes${suffix}`,
      encoding: 'binary',
      keyEncoding: 'binary',
    });
    const revisions: [number, Buffer][] = [];
    for (const { key, value } of changes.getRange({})) {
      if (!isBlockKey(key)) throw new Error('the file has records of their own already');
      for (const [revision, keys] of blockEntries(value))
        revisions.push([revision, Buffer.from(keys)]);
    }
    const { ownChangesThrough, liveSet, rememberedFirst, rememberedNext, ...earlier } = state;
    void ownChangesThrough;
    void rememberedFirst;
    void rememberedNext;
    root.transactionSync(() => {
      changes.clearSync();
      for (const [revision, keys] of revisions) changes.putSync(revisionKey(revision), keys);
      meta.putSync(
        'state',
        layout === 1 ? { ...earlier, layout } : { ...earlier, liveSet, layout },
      );
    });
  } finally {
    void root.close();
  }
}
