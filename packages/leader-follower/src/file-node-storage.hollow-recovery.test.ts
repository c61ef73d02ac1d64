import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import type { FileSystem } from '@x/wal';
import { describe, expect, it } from 'vitest';
import { clusterConfiguration, encodeConfiguration } from './cluster-configuration.js';
import { FileNodeStorage } from './file-node-storage.js';
import { isHollowEntry, type LogEntry } from './log-entry.js';
import { CountingFileSystem } from './test-support/counting-file-system.js';

// Hollow recovery on a real log: entries the state machine holds durably come back without their
// command bytes (except the payload window and configuration entries), whole entries pin no read
// buffer, and the bytes are still on disk for a follower that needs them.

const ENTRY_BYTES = 1024;
const CONFIGURATION_INDEX = 50;

function entryAt(index: number): LogEntry {
  if (index === CONFIGURATION_INDEX) {
    return {
      index,
      generation: 1,
      kind: 'configuration',
      command: encodeConfiguration(clusterConfiguration(['n1', 'n2'], [])),
    };
  }
  const command = new Uint8Array(ENTRY_BYTES).fill(index % 251);
  return { index, generation: index <= 100 ? 1 : 2, kind: 'command', command };
}

const storageOn = (fileSystem: FileSystem): FileNodeStorage =>
  new FileNodeStorage({
    id: 'n1',
    fileSystem,
    dataDirectory: '/data',
    random: seededRandom(1),
    wal: { maxSegmentBytes: 64 * 1024 },
  });

/** Bytes of the log's segment files. */
async function logBytes(fileSystem: FileSystem): Promise<number> {
  let total = 0;
  for (const directory of await fileSystem.readdir('/data')) {
    if (!directory.startsWith('log-')) continue;
    for (const name of await fileSystem.readdir(`/data/${directory}`)) {
      if (!name.endsWith('.wal')) continue;
      const handle = await fileSystem.open(`/data/${directory}/${name}`, 'read');
      total += await handle.size();
      await handle.close();
    }
  }
  return total;
}

async function diskWith(last: number): Promise<FaultFileSystem> {
  const disk = new FaultFileSystem({ random: seededRandom(3) });
  const storage = storageOn(disk);
  await storage.recover();
  const entries = Array.from({ length: last }, (_, offset) => entryAt(offset + 1));
  await storage.persist({
    snapshotChunks: [],
    entries,
    hardState: { generation: 2, votedFor: 'n1' },
  });
  await storage.close();
  return disk;
}

describe('FileNodeStorage hollow recovery', () => {
  it('hands back entries through the applied index hollow, apart from the window and configurations', async () => {
    const disk = await diskWith(200);
    const storage = storageOn(disk);
    const recovered = await storage.recover({
      appliedThrough: 150,
      keepRecentBytes: 10 * ENTRY_BYTES,
    });
    const { entries } = recovered;
    expect(entries.map((entry) => entry.index)).toEqual(
      Array.from({ length: 200 }, (_, offset) => offset + 1),
    );
    const whole = entries.filter((entry) => !isHollowEntry(entry)).map((entry) => entry.index);
    const window = Array.from({ length: 10 }, (_, offset) => 141 + offset);
    const afterApplied = Array.from({ length: 50 }, (_, offset) => 151 + offset);
    expect(whole).toEqual([CONFIGURATION_INDEX, ...window, ...afterApplied]);
    for (const entry of entries) {
      expect({ index: entry.index, generation: entry.generation, kind: entry.kind }).toEqual({
        index: entry.index,
        generation: entryAt(entry.index).generation,
        kind: entryAt(entry.index).kind,
      });
      if (isHollowEntry(entry)) {
        expect(entry.command.length).toBe(0);
        expect(entry.hollowCommandBytes).toBe(ENTRY_BYTES);
      } else {
        expect(entry.command).toEqual(entryAt(entry.index).command);
        // A copy of its own, not a view that keeps a whole read buffer alive.
        expect(entry.command.buffer.byteLength).toBe(entry.command.length);
      }
    }
    // The hard state still counts the hollow entries' generations.
    expect(recovered.hardState.generation).toBe(2);
    // A follower that needs entries below the applied index gets them from the log.
    const reread = await storage.readEntries(1, 20);
    expect(reread).toEqual(Array.from({ length: 20 }, (_, offset) => entryAt(offset + 1)));
    await storage.close();
  });

  it('without an applied index hands back every entry whole, as before', async () => {
    const disk = await diskWith(60);
    const storage = storageOn(disk);
    const { entries } = await storage.recover();
    expect(entries.some(isHollowEntry)).toBe(false);
    expect(entries).toEqual(Array.from({ length: 60 }, (_, offset) => entryAt(offset + 1)));
    await storage.close();
  });

  it('reads the log from disk once: the tail comes from the check on open', async () => {
    const disk = await diskWith(400);
    const size = await logBytes(disk);
    const counting = new CountingFileSystem(disk);
    const storage = storageOn(counting);
    const { entries } = await storage.recover({ appliedThrough: 390 });
    const read = counting.bytesReadUnder('/data/log-');
    console.log(
      `log ${size} bytes, read ${read} bytes during recovery (${(read / size).toFixed(2)}x)`,
    );
    // Every segment (64 KiB at most here) fits the scan's 4 MiB read, so each byte is read
    // exactly once; a larger segment re-reads only the record straddling each 4 MiB chunk's end.
    expect(read).toBe(size);
    expect(entries.map((entry) => entry.index)).toEqual(
      Array.from({ length: 400 }, (_, offset) => offset + 1),
    );
    expect(entries.filter((entry) => !isHollowEntry(entry)).map((entry) => entry.index)).toEqual([
      CONFIGURATION_INDEX,
      ...Array.from({ length: 10 }, (_, offset) => 391 + offset),
    ]);
    await storage.close();
  });
});
