import { crc32c } from '@x/wal';
import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import { clusterConfiguration } from './cluster-configuration.js';
import {
  encodeSnapshotBytes,
  openSnapshotBytes,
  SnapshotCorruptionError,
  SnapshotFile,
} from './snapshot-file.js';

const snapshot = { index: 42, generation: 3, data: new TextEncoder().encode('state') };

describe('SnapshotFile', () => {
  it('keeps the cluster configuration in format 3; format 2 files load without one', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(11) });
    const file = new SnapshotFile(fs, '/data');
    const configuration = clusterConfiguration(['a', 'b', 'c'], ['d']);
    const metadata = await file.save({ ...snapshot, configuration });
    expect(metadata.configuration).toEqual(configuration);
    fs.crash();
    const stored = await new SnapshotFile(fs, '/data').open();
    expect(stored?.metadata).toEqual(metadata);
    expect(await stored?.readAll()).toEqual(snapshot.data);
    await stored?.close();
    expect(await new SnapshotFile(fs, '/data').readRange(0, metadata.sizeBytes)).toEqual(
      encodeSnapshotBytes({ ...snapshot, configuration }),
    );
    // The configuration is under the checksum: a flipped bit in it is refused.
    const damaged = encodeSnapshotBytes({ ...snapshot, configuration });
    damaged[36] = (damaged[36] ?? 0) ^ 1;
    await expect(
      (async () => {
        const opened = openSnapshotBytes(damaged, 'damaged');
        await opened.verify();
      })(),
    ).rejects.toThrow(SnapshotCorruptionError);
    // Without a configuration the file is format 2, as earlier releases wrote it.
    const old = openSnapshotBytes(encodeSnapshotBytes(snapshot), 'format 2');
    expect(old.metadata.configuration).toBeUndefined();
    expect(old.metadata.sizeBytes).toBe(28 + snapshot.data.length);
  });

  it('round-trips and survives a power loss once saved', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(1) });
    const file = new SnapshotFile(fs, '/data');
    expect(await file.load()).toBeUndefined();
    await file.save(snapshot);
    fs.crash();
    expect(await new SnapshotFile(fs, '/data').load()).toEqual(snapshot);
  });

  it('keeps the previous snapshot when a save is interrupted by a power loss', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(2) });
    const file = new SnapshotFile(fs, '/data');
    await file.save(snapshot);
    void file
      .save({ index: 50, generation: 3, data: new Uint8Array(4096).fill(9) })
      .catch(() => undefined);
    fs.crash();
    const loaded = await new SnapshotFile(fs, '/data').load();
    expect([42, 50]).toContain(loaded?.index);
  });

  it('refuses a damaged snapshot instead of starting from it', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(3) });
    const file = new SnapshotFile(fs, '/data');
    await file.save(snapshot);
    fs.flipBit('/data/snapshot', 30);
    await expect(file.load()).rejects.toThrow(SnapshotCorruptionError);
  });

  it('refuses a snapshot whose header index or generation was damaged (found by fuzzing)', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(3) });
    const file = new SnapshotFile(fs, '/data');
    for (const [byte, bit] of [
      [4, 0], // the index's high half: beyond 2^53
      [11, 1], // the index's low half: another snapshot's index
      [19, 0], // the generation
    ] as const) {
      await file.save(snapshot);
      fs.flipBit('/data/snapshot', byte, bit);
      await expect(file.load()).rejects.toThrow(SnapshotCorruptionError);
    }
  });

  it('still reads a snapshot of format 1, whose checksum covers the data only', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(3) });
    const bytes = new Uint8Array(28 + snapshot.data.length);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, 0x4c465331); // "LFS1"
    view.setUint32(8, snapshot.index);
    view.setUint32(16, snapshot.generation);
    view.setUint32(20, snapshot.data.length);
    view.setUint32(24, crc32c(snapshot.data));
    bytes.set(snapshot.data, 28);
    await fs.mkdir('/data');
    const handle = await fs.open('/data/snapshot', 'create');
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.close();
    expect(await new SnapshotFile(fs, '/data').load()).toEqual(snapshot);
  });
});

describe('SnapshotFile transfer', () => {
  it('sends the file in ranges and installs the received copy only once it checks out', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(4) });
    const leader = new SnapshotFile(fs, '/leader');
    const metadata = await leader.save(snapshot);
    expect(metadata).toEqual(SnapshotFile.metadataOf(snapshot));
    const follower = new SnapshotFile(fs, '/follower');
    await fs.mkdir('/follower');
    for (let offset = 0; offset < metadata.sizeBytes; offset += 5) {
      await follower.writeIncoming(offset, await leader.readRange(offset, 5));
    }
    await expect(follower.installIncoming({ ...metadata, index: 41 })).rejects.toThrow(
      SnapshotCorruptionError,
    );
    const installed = await follower.installIncoming(metadata);
    expect(installed.metadata).toEqual(metadata);
    expect(await installed.readAll()).toEqual(snapshot.data);
    await installed.close();
    fs.crash();
    expect(await new SnapshotFile(fs, '/follower').load()).toEqual(snapshot);
  });

  it('starts an incoming snapshot afresh at offset 0 and refuses a damaged one', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(5) });
    const leader = new SnapshotFile(fs, '/leader');
    const metadata = await leader.save(snapshot);
    const follower = new SnapshotFile(fs, '/follower');
    await fs.mkdir('/follower');
    await follower.writeIncoming(0, new Uint8Array(100).fill(7));
    const bytes = await leader.readRange(0, metadata.sizeBytes);
    await follower.writeIncoming(0, bytes);
    const installed = await follower.installIncoming(metadata);
    expect(installed.metadata.index).toBe(42);
    await installed.close();
    bytes.set([(bytes.at(-1) ?? 0) ^ 1], bytes.length - 1);
    await follower.writeIncoming(0, bytes);
    await expect(follower.installIncoming(metadata)).rejects.toThrow(SnapshotCorruptionError);
    expect(await follower.load()).toEqual(snapshot);
  });
});

describe('SnapshotFile streaming', () => {
  const chunked = (count: number, size: number): Uint8Array[] =>
    Array.from({ length: count }, (_, i) => new Uint8Array(size).fill(i + 1));

  it('saves chunks as they are produced and reads them back in chunks of any size', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(6) });
    const file = new SnapshotFile(fs, '/data');
    let produced = 0;
    function* lazily(): Generator<Uint8Array> {
      for (const chunk of chunked(5, 1000)) {
        produced++;
        yield chunk;
      }
    }
    const metadata = await file.save({ index: 7, generation: 2, data: lazily() });
    expect(produced).toBe(5);
    expect(metadata).toEqual({ index: 7, generation: 2, sizeBytes: 28 + 5000 });
    fs.crash();
    const whole = await new SnapshotFile(fs, '/data').load();
    expect(whole?.data).toEqual(
      Uint8Array.from({ length: 5000 }, (_, i) => Math.floor(i / 1000) + 1),
    );
    const stored = await file.open();
    const sizes: number[] = [];
    for await (const chunk of stored?.chunks(1536) ?? []) sizes.push(chunk.length);
    expect(sizes).toEqual([1536, 1536, 1536, 392]);
    expect(stored?.verified).toBe(true);
    await stored?.close();
  });

  it('saves the same file from one buffer or from chunks', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(7) });
    const chunks = chunked(3, 10);
    await new SnapshotFile(fs, '/a').save({ index: 1, generation: 1, data: chunks });
    await new SnapshotFile(fs, '/b').save({
      index: 1,
      generation: 1,
      data: Uint8Array.from(chunks.flatMap((chunk) => [...chunk])),
    });
    const a = await new SnapshotFile(fs, '/a').readRange(0, 100);
    expect(await new SnapshotFile(fs, '/b').readRange(0, 100)).toEqual(a);
  });

  it('fails the last chunk of a damaged snapshot, so a reader never acts on it', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(8) });
    const file = new SnapshotFile(fs, '/data');
    await file.save({ index: 3, generation: 1, data: chunked(4, 100) });
    fs.flipBit('/data/snapshot', 28 + 150);
    const stored = await file.open();
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const chunk of stored?.chunks(100) ?? []) seen.push(chunk.length);
      })(),
    ).rejects.toThrow(SnapshotCorruptionError);
    // Every chunk was read, the error came instead of the end of the iteration.
    expect(seen).toEqual([100, 100, 100]);
    expect(stored?.verified).toBe(false);
    await stored?.close();
  });

  it('refuses a file whose size does not match its header', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(9) });
    const file = new SnapshotFile(fs, '/data');
    await file.save({ index: 3, generation: 1, data: chunked(2, 100) });
    const handle = await fs.open('/data/snapshot', 'readwrite');
    await handle.truncate(28 + 150);
    await handle.close();
    await expect(file.open()).rejects.toThrow(/expected 200 data bytes/);
  });

  it('keeps reading the snapshot it opened after a newer one replaces the file', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(10) });
    const file = new SnapshotFile(fs, '/data');
    await file.save({ index: 3, generation: 1, data: chunked(2, 100) });
    const stored = await file.open();
    await file.save({ index: 9, generation: 2, data: chunked(3, 100) });
    expect(stored?.metadata.index).toBe(3);
    expect((await stored?.readAll())?.length).toBe(200);
    await stored?.close();
    expect((await file.load())?.index).toBe(9);
  });

  it('an empty state round-trips', async () => {
    const fs = new FaultFileSystem({ random: seededRandom(11) });
    const file = new SnapshotFile(fs, '/data');
    await file.save({ index: 1, generation: 1, data: [] });
    expect(await file.load()).toEqual({ index: 1, generation: 1, data: new Uint8Array(0) });
  });
});
