/**
 * The log refuses to open because a record that was once durable is damaged: an invalid record
 * followed by valid records that prove it had been synced, an invalid record in an older segment,
 * or segments whose indexes do not follow on. Nothing was changed on disk. Restore the directory
 * from a replica or backup; do not delete files by hand to make it open.
 */
export class WalCorruptionError extends Error {
  override readonly name = 'WalCorruptionError';
  constructor(
    /** Path of the damaged segment file. */
    readonly file: string,
    /** Byte offset in `file` of the first invalid record (or header). */
    readonly offset: number,
    /** What is wrong there. */
    readonly reason: string,
  ) {
    super(`write-ahead log corrupted: ${file} at byte ${offset}: ${reason}`);
  }
}

/**
 * The log failed stop after a write or fsync error: the append that hit it and every pending and
 * later append were rejected, and nothing more is written. After a failed fsync the kernel may have
 * dropped dirty pages, so carrying on could silently lose acknowledged entries; close the log and
 * restart the process, which recovers from what is on disk.
 */
export class WalFailedError extends Error {
  override readonly name = 'WalFailedError';
  constructor(
    /** The I/O error that stopped the log. */
    override readonly cause: unknown,
  ) {
    super(
      `write-ahead log failed and stopped: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

/** Another log instance, in this process or another, holds the directory lock. */
export class WalLockedError extends Error {
  override readonly name = 'WalLockedError';
  constructor(
    /** The locked data directory. */
    readonly directory: string,
    /** The file-system error that reported the lock. */
    override readonly cause: unknown,
  ) {
    super(`write-ahead log directory ${directory} is already open (locked)`);
  }
}

/** The log was used after `close()`. */
export class WalClosedError extends Error {
  override readonly name = 'WalClosedError';
  constructor() {
    super('write-ahead log is closed');
  }
}
