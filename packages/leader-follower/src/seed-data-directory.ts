import type { FileSystem } from '@x/wal';
import type { SnapshotData, SnapshotMetadata } from './log-entry.js';
import { SnapshotFile } from './snapshot-file.js';

/** What {@link seedDataDirectory} writes: a state machine snapshot and where it stands. */
export interface SeedSnapshot {
  /** Log index the snapshot stands for: the new member's log starts after it. */
  readonly index: number;
  /** Generation of the entry at `index`. */
  readonly generation: number;
  /** The state machine's snapshot bytes, whole or as chunks. */
  readonly data: SnapshotData;
}

/**
 * Prepares the data directory of a member of a new cluster to start from `snapshot` instead of
 * an empty state machine: restoring a backup (give every member of the new cluster the same
 * snapshot, index and generation, and start them together). The snapshot is written in
 * `FileNodeStorage`'s format, durably; the member creates its log, its generation file and a
 * new storage identity when it opens the directory, as any new member does.
 *
 * @throws Error when `dataDirectory` already holds anything: a seed never overwrites a member.
 * @throws RangeError when the data exceeds the snapshot format's 4 GiB limit, or `index` or
 *   `generation` is not a positive integer.
 */
export async function seedDataDirectory(
  fileSystem: FileSystem,
  dataDirectory: string,
  snapshot: SeedSnapshot,
): Promise<SnapshotMetadata> {
  for (const [name, value] of [
    ['index', snapshot.index],
    ['generation', snapshot.generation],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`seed snapshot ${name} must be a positive integer, got ${value}`);
    }
  }
  await fileSystem.mkdir(dataDirectory);
  const present = await fileSystem.readdir(dataDirectory);
  if (present.length > 0) {
    throw new Error(
      `${dataDirectory} is not empty (${present.slice(0, 3).join(', ')}): a seed never overwrites a member's data`,
    );
  }
  return new SnapshotFile(fileSystem, dataDirectory).save(snapshot);
}
