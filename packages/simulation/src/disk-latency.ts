import type { FileOperation } from '@x/wal/testing';
import type { SeededRandom } from './seeded-random.js';

/**
 * A file-system operation name, as @x/wal's FaultFileSystem reports it to its delay hook. The same
 * union as `FileOperation` of `@x/wal/testing`, named here for the simulation's own vocabulary.
 */
export type DiskOperation = FileOperation;

/** Draws the virtual milliseconds one disk operation takes. */
export type DiskLatency = (operation: DiskOperation, random: SeededRandom) => number;

/**
 * A default in the range of a datacentre NVMe drive: flushes (datasync, directory sync) take
 * 0.5-2 ms, everything else 5-50 microseconds (it only touches the page cache).
 */
export const defaultDiskLatency: DiskLatency = (operation, random) =>
  operation === 'datasync' || operation === 'syncDirectory'
    ? random.between(0.5, 2)
    : random.between(0.005, 0.05);
