import { describe, expect, it } from 'vitest';
import { isHollowEntry, type LogEntry } from './log-entry.js';
import { RecoveredTail } from './recovered-tail.js';

// Entries whose command is a view valid only during `add` (a WAL's recovery scan reuses its read
// buffer): the tail copies those it keeps whole, at once, and nothing it hollows.

/** A scan-like reader: every entry's command is a view into the same buffer, refilled per entry. */
function scanOf(entries: { index: number; kind: LogEntry['kind']; bytes: number }[]) {
  const buffer = new Uint8Array(64 * 1024);
  return function* (): Generator<LogEntry> {
    for (const { index, kind, bytes } of entries) {
      buffer.fill(index % 251, 0, bytes);
      yield { index, generation: 1, kind, command: buffer.subarray(0, bytes) };
      buffer.fill(0); // the next read overwrites the view
    }
  };
}

describe('RecoveredTail with transient commands', () => {
  it('copies the entries it keeps whole and hollows the rest, as with stable commands', () => {
    const kindAt = (offset: number): LogEntry['kind'] =>
      offset === 4 ? 'configuration' : offset === 7 ? 'empty' : 'command';
    const layout = Array.from({ length: 20 }, (_, offset) => ({
      index: offset + 1,
      kind: kindAt(offset),
      bytes: offset === 7 ? 0 : 100,
    }));
    const transient = new RecoveredTail({ appliedThrough: 15, keepRecentBytes: 250 }, false);
    for (const entry of scanOf(layout)()) transient.add(entry, true);
    const stable = new RecoveredTail({ appliedThrough: 15, keepRecentBytes: 250 }, false);
    for (const entry of scanOf(layout)()) stable.add({ ...entry, command: entry.command.slice() });

    const entries = transient.finish();
    expect(entries).toEqual(stable.finish());
    expect(entries.filter((entry) => !isHollowEntry(entry)).map((entry) => entry.index)).toEqual([
      5, 8, 14, 15, 16, 17, 18, 19, 20,
    ]);
    for (const entry of entries) {
      if (isHollowEntry(entry)) continue;
      expect(entry.command).toEqual(new Uint8Array(entry.command.length).fill(entry.index % 251));
      // Its own bytes: no view that keeps the reader's buffer alive, even when empty.
      expect(entry.command.buffer.byteLength).toBe(entry.command.length);
    }
  });

  it('reuses the window chunks as it moves, never overwriting a command still whole', () => {
    // 3,000 commands of 1 to 3 KB through the applied index, a 1.5 MB window (more than one of
    // the arena's 1 MiB chunks): the copies pass through the chunks several times over.
    const layout = Array.from({ length: 3000 }, (_, offset) => ({
      index: offset + 1,
      kind: 'command' as const,
      bytes: 1000 + ((offset * 7919) % 2000),
    }));
    const options = { appliedThrough: 2900, keepRecentBytes: 1_500_000 };
    const transient = new RecoveredTail(options, false);
    const stable = new RecoveredTail(options, false);
    for (const entry of scanOf(layout)()) {
      transient.add(entry, true);
      stable.add({ ...entry, command: entry.command.slice() });
    }
    const entries = transient.finish();
    expect(entries).toEqual(stable.finish());
    const whole = entries.filter((entry) => !isHollowEntry(entry));
    expect(whole.length).toBeGreaterThan(100);
    for (const entry of whole) {
      expect(entry.command).toEqual(new Uint8Array(entry.command.length).fill(entry.index % 251));
      expect(entry.command.buffer.byteLength).toBe(entry.command.length);
    }
  });
});
