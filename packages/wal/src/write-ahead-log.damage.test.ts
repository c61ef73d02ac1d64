import { describe, expect, it } from 'vitest';
import { WalCorruptionError } from './errors.js';
import { SEGMENT_HEADER_BYTES, recordSize } from './record-format.js';
import { FaultFileSystem } from './testing/fault-file-system.js';
import { seededRandom } from './testing/seeded-random.js';
import { WriteAheadLog, type WriteAheadLogOptions } from './write-ahead-log.js';

// Damage that must never pass as a torn tail (ISSUE-23 finding 2): an emptied or zeroed segment,
// a complete last record whose checksum fails. Torn writes (a short file, unwritten sectors read
// as zeros) are still cut off, with a .broken copy.

const DIR = '/data/wal';
const FIRST = `${DIR}/00000000000000000001.wal`;

function setup(options: WriteAheadLogOptions = {}) {
  const fs = new FaultFileSystem({ random: seededRandom(7) });
  const open = (extra: WriteAheadLogOptions = {}) =>
    WriteAheadLog.open(DIR, { fileSystem: fs, wallClock: { now: () => 0 }, ...options, ...extra });
  return { fs, open };
}

/** A payload of non-zero bytes, so no sector of a record reads as zeros by chance. */
function payload(index: number, length = 24): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => 1 + ((index + i) % 250));
}

async function writeEntries(open: () => Promise<WriteAheadLog>, count: number): Promise<void> {
  const log = await open();
  for (let index = 1; index <= count; index++) {
    await log.append({ generation: 1, payload: payload(index) });
  }
  await log.close();
}

describe('a damaged segment is refused, not repaired as a torn tail', () => {
  it('refuses the only segment emptied to zero bytes, naming the file', async () => {
    const { fs, open } = setup();
    await writeEntries(open, 20);
    const handle = await fs.open(FIRST, 'readwrite');
    await handle.truncate(0);
    await handle.datasync();
    await handle.close();
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect(error).toMatchObject({ file: FIRST, offset: 0 });
    expect((error as Error).message).toMatch(/named for entry 1 is empty or damaged/);
    expect(fs.listFiles().some((path) => path.endsWith('.broken'))).toBe(false);
  });

  it('refuses the only segment overwritten with zeros', async () => {
    const { fs, open } = setup();
    await writeEntries(open, 20);
    const size = fs.fileContent(FIRST)!.length;
    fs.overwrite(FIRST, 0, new Uint8Array(size));
    await expect(open()).rejects.toMatchObject({ name: 'WalCorruptionError', file: FIRST });
  });

  it('refuses a complete last record whose checksum fails, naming file and offset', async () => {
    const { fs, open } = setup();
    await writeEntries(open, 5);
    const last = SEGMENT_HEADER_BYTES + 4 * recordSize(24);
    fs.flipBit(FIRST, last + 40, 3);
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalCorruptionError);
    expect(error).toMatchObject({ file: FIRST, offset: last });
    expect((error as Error).message).toMatch(/damaged after it was written, not torn/);
  });

  it('refuses a zeroed segment that has a later segment', async () => {
    const options = { maxSegmentBytes: SEGMENT_HEADER_BYTES + 3 * recordSize(24) };
    const { fs, open } = setup(options);
    await writeEntries(() => open(), 9);
    const second = `${DIR}/00000000000000000004.wal`;
    fs.overwrite(second, 0, new Uint8Array(fs.fileContent(second)!.length));
    await expect(open()).rejects.toMatchObject({ name: 'WalCorruptionError', file: second });
  });
});

describe('a torn write is still cut off', () => {
  it('a last record cut short by the end of the file', async () => {
    const { fs, open } = setup();
    await writeEntries(open, 5);
    const size = fs.fileContent(FIRST)!.length;
    const handle = await fs.open(FIRST, 'readwrite');
    await handle.truncate(size - 10);
    await handle.datasync();
    await handle.close();
    const log = await open();
    expect(log.lastIndex).toBe(4);
    expect(log.recovery.tornTail).toMatchObject({
      file: FIRST,
      discardedBytes: recordSize(24) - 10,
    });
    await log.close();
  });

  it('a last record one of whose sectors was never written (zeros)', async () => {
    const { fs, open } = setup({ sectorBytes: 64 });
    await writeEntries(() => open({ sectorBytes: 64 }), 6);
    const last = SEGMENT_HEADER_BYTES + 5 * recordSize(24);
    // The record spans a 64-byte sector boundary; the part in the later sector never landed.
    const boundary = Math.ceil((last + 1) / 64) * 64;
    const end = last + recordSize(24);
    expect(boundary).toBeLessThan(end);
    fs.overwrite(FIRST, boundary, new Uint8Array(end - boundary));
    const log = await open({ sectorBytes: 64 });
    expect(log.lastIndex).toBe(5);
    expect(log.recovery.tornTail?.offset).toBe(last);
    await log.close();
  });

  it('a segment roll that crashed before its first write landed (an empty last segment)', async () => {
    const options = { maxSegmentBytes: SEGMENT_HEADER_BYTES + 3 * recordSize(24) };
    const { fs, open } = setup(options);
    await writeEntries(() => open(), 4);
    const rolled = `${DIR}/00000000000000000004.wal`;
    const handle = await fs.open(rolled, 'readwrite');
    await handle.truncate(0);
    await handle.datasync();
    await handle.close();
    const log = await open();
    expect(log.lastIndex).toBe(3);
    expect(log.recovery.tornTail?.file).toBe(rolled);
    await log.close();
  });

  it('rejects an impossible sector size before touching the disk', async () => {
    const { fs, open } = setup();
    await expect(open({ sectorBytes: 100 })).rejects.toThrow(RangeError);
    expect(fs.listFiles()).toEqual([]);
  });
});
