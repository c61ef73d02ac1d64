import { CommandArena } from './command-arena.js';
import { EMPTY_COMMAND, isHollowEntry } from './log-entry.js';
import type { LogEntry } from './log-entry.js';

/** What the node tells its storage about the log tail it is about to recover. */
export interface RecoverOptions {
  /**
   * The state machine already holds every entry through this index (its durable applied index):
   * the storage may hand those entries back hollow (index, generation, kind and command size;
   * see `LogEntry.hollowCommandBytes`), since the node will neither apply nor persist them. A
   * follower that needs their bytes later has them read from the log. 0 (the default): none.
   */
  readonly appliedThrough?: number;
  /**
   * Command bytes of the most recent entries through `appliedThrough` to hand back whole anyway,
   * for followers a little behind (the node's payload window). Default 0.
   */
  readonly keepRecentBytes?: number;
}

/**
 * Builds the recovered log tail in one pass over the stored entries, in index order: entries
 * through `appliedThrough` are made hollow, oldest first, once the whole ones among them hold more
 * than `keepRecentBytes`; configuration entries stay whole (the log's configuration history
 * decodes them; they are small). The result's hollow entries form a prefix up to the last one,
 * apart from those configuration entries, which is what `ReplicatedLog` accepts.
 *
 * `copyKept` copies the command bytes of every entry that stays whole when the tail is finished,
 * for a storage whose entries are views into larger read buffers: a view would keep the whole
 * buffer alive. An entry whose command is only valid during `add` is copied there instead.
 */
export class RecoveredTail {
  private readonly entries: LogEntry[] = [];
  private readonly appliedThrough: number;
  private readonly keepRecentBytes: number;
  /** Position of the oldest whole command entry through `appliedThrough` (the window's start). */
  private windowStart = 0;
  /** Command bytes of the whole entries through `appliedThrough` from `windowStart` on. */
  private windowBytes = 0;
  /** Holds the copies of transient commands in the window until they are hollowed or finished. */
  private readonly arena = new CommandArena();

  constructor(
    options: RecoverOptions,
    private readonly copyKept: boolean,
  ) {
    this.appliedThrough = options.appliedThrough ?? 0;
    this.keepRecentBytes = Math.max(0, options.keepRecentBytes ?? 0);
  }

  /** Index of the last entry added (undefined when none). */
  get lastIndex(): number | undefined {
    return this.entries.at(-1)?.index;
  }

  /**
   * Adds the next stored entry (whole, as read). `commandIsTransient`: the command is a view that
   * is only valid during this call (a log's recovery scan reuses its read buffer), so the tail
   * copies it if the entry is still whole when the call returns; an entry hollowed at once (the
   * usual case below the applied index with no payload window) is never copied. A copy for the
   * window goes to reused chunks (`CommandArena`): nearly all of them are hollowed soon after.
   */
  add(entry: LogEntry, commandIsTransient = false): void {
    const position = this.entries.length;
    this.entries.push(entry);
    const inWindow = entry.index <= this.appliedThrough && entry.kind !== 'configuration';
    if (inWindow) {
      this.windowBytes += entry.command.length;
      while (this.windowBytes > this.keepRecentBytes && this.windowStart < this.entries.length) {
        this.hollowAt(this.windowStart++);
      }
    }
    if (commandIsTransient && this.entries[position] === entry) {
      // Even an empty view would keep the reader's whole buffer alive.
      const { command } = entry;
      let copy: Uint8Array = EMPTY_COMMAND;
      if (command.length > 0) copy = inWindow ? this.arena.copy(command) : command.slice();
      this.entries[position] = { ...entry, command: copy };
    }
  }

  /**
   * The tail, in order; whole entries' bytes copied when `copyKept`, and out of the arena's
   * chunks (so none stays alive). Call once, after the last `add`.
   */
  finish(): LogEntry[] {
    for (let position = 0; position < this.entries.length; position++) {
      const entry = this.entries[position]!;
      if (isHollowEntry(entry) || entry.command.length === 0) continue;
      if (this.copyKept || this.arena.holds(entry.command)) {
        this.entries[position] = { ...entry, command: entry.command.slice() };
      }
    }
    return this.entries;
  }

  private hollowAt(position: number): void {
    const entry = this.entries[position]!;
    if (entry.kind === 'configuration' || isHollowEntry(entry)) return;
    if (entry.command.length === 0) return;
    this.windowBytes -= entry.command.length;
    this.arena.release(entry.command);
    this.entries[position] = {
      index: entry.index,
      generation: entry.generation,
      kind: entry.kind,
      command: EMPTY_COMMAND,
      hollowCommandBytes: entry.command.length,
    };
  }
}
