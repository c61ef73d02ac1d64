/** The errors of reading or compacting at a revision the store cannot serve, in etcd's words. */

/** A revision above the store's current one was asked for. */
export class FutureRevisionError extends Error {
  /** @param revision the revision asked for. */
  constructor(readonly revision: number) {
    super('etcdserver: mvcc: required revision is a future revision');
    this.name = 'FutureRevisionError';
  }
}

/** A revision the store has compacted away was asked for. */
export class CompactedRevisionError extends Error {
  /**
   * @param revision the revision asked for.
   * @param compactRevision the store's compact revision (the oldest it can still read).
   */
  constructor(
    readonly revision: number,
    readonly compactRevision: number,
  ) {
    super('etcdserver: mvcc: required revision has been compacted');
    this.name = 'CompactedRevisionError';
  }
}
