import type { EntriesToLoad } from './core-types.js';
import { commandBytesOf, isHollowEntry } from './log-entry.js';
import type { LogEntry } from './log-entry.js';
import type { Message, NodeId } from './messages.js';

/**
 * "The core asks": a leader's append whose entries left memory (the payload window) is not sent
 * hollow for the driver to patch; the core asks the driver to load those entries
 * (`Ready.entriesToLoad`) and emits the append, whole, when they come back. A peer's later
 * messages wait behind it, so each peer still receives its messages in order. One load per peer is
 * asked at a time.
 */
export class AppendLoads {
  /** Loads asked of the driver since the last Ready. */
  readonly requested: EntriesToLoad[] = [];
  /** Per peer, the messages waiting behind (or for) a load; present only while one is pending. */
  private readonly waiting = new Map<NodeId, WaitingMessage[]>();

  /**
   * Routes a leader's message: emitted at once (`emit`) unless it needs a load or its peer has
   * messages waiting, in which case it waits in line.
   */
  route(to: NodeId, message: Message, emit: (to: NodeId, message: Message) => void): void {
    let line = this.waiting.get(to);
    const load = message.kind === 'append' ? entriesToLoadFor(to, message.entries) : undefined;
    if (line === undefined && load === undefined) {
      emit(to, message);
      return;
    }
    if (line === undefined) {
      line = [];
      this.waiting.set(to, line);
    }
    const last = line[line.length - 1];
    if (message.kind === 'heartbeat' && last?.message.kind === 'heartbeat') {
      last.message = message; // one heartbeat waiting is enough: the newest
      return;
    }
    line.push({ message, load, requested: false, answered: load === undefined, loaded: [] });
    this.requestNext(line);
  }

  /**
   * The driver's answer to a load: the entries `from..to`, or undefined when the log no longer
   * holds them all (the append is dropped, as a lossy network would drop it; the leader retries or
   * sends its snapshot). Emits the peer's messages that waited for it, in order.
   * @throws Error when a loaded entry differs in size from the one it stands for (a damaged log).
   */
  answered(
    load: EntriesToLoad,
    loaded: readonly LogEntry[] | undefined,
    emit: (to: NodeId, message: Message) => void,
  ): void {
    const line = this.waiting.get(load.peer);
    const item = line?.find((candidate) => candidate.load === load);
    if (line === undefined || item === undefined) return;
    item.answered = true;
    item.loaded = loaded;
    while (line[0]?.answered === true) {
      const head = line.shift()!;
      const message = head.load === undefined ? head.message : withLoadedEntries(head, head.load);
      if (message !== undefined) emit(load.peer, message);
    }
    if (line.length === 0) this.waiting.delete(load.peer);
    else this.requestNext(line);
  }

  /** Asks the driver for the first load of a peer's line, once. */
  private requestNext(line: WaitingMessage[]): void {
    const next = line.find((item) => !item.answered);
    if (next?.load === undefined || next.requested) return;
    next.requested = true;
    this.requested.push(next.load);
  }
}

/** A message waiting behind (or for) entries the driver loads. */
interface WaitingMessage {
  message: Message;
  readonly load: EntriesToLoad | undefined;
  requested: boolean;
  answered: boolean;
  /** The driver's answer (undefined: the log no longer holds the entries). */
  loaded: readonly LogEntry[] | undefined;
}

/** The load an append's hollow entries need, or undefined when it carries none. */
function entriesToLoadFor(peer: NodeId, entries: readonly LogEntry[]): EntriesToLoad | undefined {
  let from = 0;
  let to = 0;
  let bytes = 0;
  for (const entry of entries) {
    if (!isHollowEntry(entry)) continue;
    if (from === 0) from = entry.index;
    to = entry.index;
    bytes += commandBytesOf(entry);
  }
  return from === 0 ? undefined : { peer, from, to, bytes };
}

/** The waiting append with its hollow entries replaced by the loaded ones; undefined if one is missing. */
function withLoadedEntries(waiting: WaitingMessage, load: EntriesToLoad): Message | undefined {
  const append = waiting.message;
  if (append.kind !== 'append' || waiting.loaded === undefined) return undefined;
  const entries: LogEntry[] = [];
  for (const entry of append.entries) {
    if (!isHollowEntry(entry)) {
      entries.push(entry);
      continue;
    }
    const copy = waiting.loaded[entry.index - load.from];
    if (copy?.index !== entry.index || copy.generation !== entry.generation) return undefined;
    if (copy.command.length !== entry.hollowCommandBytes) {
      throw new Error(
        `entry ${entry.index} loaded with ${copy.command.length} bytes, expected ${entry.hollowCommandBytes}`,
      );
    }
    entries.push(copy);
  }
  return { ...append, entries };
}
