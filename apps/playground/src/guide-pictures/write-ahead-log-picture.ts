import { WriteAheadLog, type FileHandle, type FileSystem } from '@x/wal';
import { FaultFileSystem, seededRandom } from '@x/wal/testing';
import { ScriptedRecording } from './scripted-recording.js';

const CLIENTS = ['client 1', 'client 2', 'client 3'];
/** Height of one step of the run in the picture (the renderer's unit is a millisecond). */
const STEP = 10;

/**
 * The write-ahead log guide's story, on the real {@link WriteAheadLog} over the package's
 * in-memory power-loss disk: three clients append at once and share one fdatasync (group
 * commit), each is answered only after it; then a fourth append is in flight when the power goes
 * out, and recovery keeps exactly the acknowledged entries. The disk calls drawn are the ones the
 * log really makes; the picture's time axis counts steps of the run, not milliseconds.
 */
export async function writeAheadLogPicture(): Promise<string> {
  const picture = new ScriptedRecording([...CLIENTS, 'WAL', 'disk']);
  let steps = 0;
  const step = () => ++steps * STEP;
  let recording = false;

  const disk = new FaultFileSystem({ random: seededRandom(7) });
  // Every call passes through to the disk; writes and flushes are drawn while recording.
  const recordedHandle = (handle: FileHandle): FileHandle => ({
    size: () => handle.size(),
    read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
    write: (buffer, offset, length, position) => {
      if (recording) {
        const at = step();
        picture.message('WAL', 'disk', at, at + STEP / 2, `write ${length} B`, 'disk');
      }
      return handle.write(buffer, offset, length, position);
    },
    datasync: async () => {
      const sentAt = recording ? step() : 0;
      await handle.datasync();
      if (recording) {
        const doneAt = step();
        picture.message('WAL', 'disk', sentAt, sentAt + STEP / 2, 'fdatasync', 'disk');
        picture.message('disk', 'WAL', doneAt - STEP / 2, doneAt, 'flushed', 'disk');
      }
    },
    truncate: (length) => handle.truncate(length),
    close: () => handle.close(),
  });
  const recorded = (view: FileSystem): FileSystem => ({
    open: async (path, mode) => recordedHandle(await view.open(path, mode)),
    readdir: (directory) => view.readdir(directory),
    mkdir: (directory) => view.mkdir(directory),
    exists: (path) => view.exists(path),
    rename: (from, to) => view.rename(from, to),
    unlink: (path) => view.unlink(path),
    syncDirectory: (directory) => view.syncDirectory(directory),
    lockDirectory: (directory) => view.lockDirectory(directory),
  });

  const encoder = new TextEncoder();
  const log = await WriteAheadLog.open('/data/wal', { fileSystem: recorded(disk.processView()) });
  recording = true;
  const acknowledged = await Promise.all(
    CLIENTS.map(async (client, position) => {
      const sentAt = step();
      picture.message(client, 'WAL', sentAt, sentAt + STEP / 2, `append put k${position + 1}`);
      const index = await log.append({
        generation: 1,
        payload: encoder.encode(`k${position + 1}`),
      });
      const answeredAt = step();
      picture.message(
        'WAL',
        client,
        answeredAt,
        answeredAt + STEP / 2,
        `ok, index ${index}`,
        'reply',
      );
      return index;
    }),
  );
  const fdatasyncs = disk.stats.datasyncs;

  const inFlightAt = step();
  picture.message('client 1', 'WAL', inFlightAt, inFlightAt + STEP / 2, 'append put k4');
  void log.append({ generation: 1, payload: encoder.encode('k4') }).catch(() => {});
  const crashAt = step();
  disk.crash();
  recording = false;
  picture.note(crashAt, 'disk', 'power loss: unflushed writes may vanish', 'fault');

  const recovered = await WriteAheadLog.open('/data/wal', { fileSystem: disk.processView() });
  const restartAt = step();
  picture.note(
    restartAt,
    'WAL',
    `recovery: entries ${recovered.firstIndex}..${recovered.lastIndex}`,
    'commit',
  );
  if (recovered.lastIndex < Math.max(...acknowledged)) {
    throw new Error('the write-ahead log lost an acknowledged entry');
  }
  picture.note(restartAt, 'WAL', 'every acknowledged entry is there', 'leader');
  await recovered.close();

  return picture.render(
    'Write-ahead log: answer only after fdatasync; survive a power loss',
    `Three clients append at once; the log writes their records and makes them durable with ${fdatasyncs} fdatasync call(s) shared by all three (group commit), and answers each only then. A fourth append is in flight when the power goes out; recovery finds entries ${recovered.firstIndex}..${recovered.lastIndex}, every acknowledged one. Recorded from @x/wal on its in-memory power-loss disk; time counts steps of the run.`,
    (atMs) => `step ${Math.round(atMs / STEP)}`,
  );
}
