import { decodeMessage, type Message, type Transport } from '@x/leader-follower';
import type { InFlightMessage } from '@x/simulation';
import { commandText } from './playground-member.js';

/** A message the watcher saw enter the network and not yet arrive. */
export interface WatchedMessage {
  /** Unique within a run, in sending order. */
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly message: Message;
  /** Virtual time it was sent at. */
  readonly sentAtMs: number;
}

/** An entry of a member's log as the playground last saw it travel. */
export interface SeenEntry {
  readonly generation: number;
  /** `key=value`, or empty for a leader's empty entry. */
  readonly text: string;
}

/** What a delivered message means for the page, given the receiver's generation. */
export interface Delivery {
  readonly from: string;
  readonly to: string;
  readonly message: Message;
  /** The receiver's generation just before it handled the message, if it is running. */
  readonly receiverGeneration: number | undefined;
}

/**
 * Watches the leader-follower messages of a simulated cluster through its public seams only: a
 * network filter (which sees every message that enters the network) and a wrapper around each
 * member's transport (which sees what it sends and what reaches it). `@x/simulation` does not list
 * the messages in flight and `@x/leader-follower` does not expose its log entries, so the
 * playground keeps this adapter: messages in flight, and each member's log rebuilt from the
 * appends it sent or accepted (decoded with the package's own codec).
 */
export class MessageWatcher {
  private readonly inFlight: WatchedMessage[] = [];
  private readonly logs = new Map<string, Map<number, SeenEntry>>();
  private readonly arrivalListeners: ((watched: WatchedMessage) => void)[] = [];
  private nextId = 1;

  constructor(
    private readonly now: () => number,
    /** Whether a member's process is gone (the network drops what is sent to it). */
    private readonly isCrashed: (member: string) => boolean,
    /** Latest arrival the network's latency allows; a message older than this was lost. */
    private readonly maxLatencyMs: number,
  ) {}

  /** The network filter: records every message that enters the network; never drops one. */
  readonly filter = (sent: InFlightMessage): boolean => {
    if (this.isCrashed(sent.to)) return true;
    const message = decodeMessage(sent.type, sent.payload);
    if (message === undefined) return true;
    this.inFlight.push({
      id: this.nextId++,
      from: sent.from,
      to: sent.to,
      message,
      sentAtMs: this.now(),
    });
    return true;
  };

  /**
   * Wraps `member`'s transport: appends it sends go into its own log, appends it receives (of a
   * generation it accepts) into its log, and `onDelivery` hears about every delivered message
   * before the member handles it.
   */
  wrap(
    member: string,
    transport: Transport,
    generationOf: () => number | undefined,
    onDelivery: (delivery: Delivery) => void,
  ): Transport {
    return {
      send: (to, type, payload) => {
        const message = decodeMessage(type, payload);
        if (message?.kind === 'append') this.remember(member, message);
        transport.send(to, type, payload);
      },
      onMessage: (handler) => {
        transport.onMessage((from, type, payload) => {
          this.arrived(from, member);
          const message = decodeMessage(type, payload);
          if (message !== undefined) {
            const receiverGeneration = generationOf();
            if (
              message.kind === 'append' &&
              (receiverGeneration === undefined || message.generation >= receiverGeneration)
            ) {
              this.remember(member, message);
            }
            onDelivery({ from, to: member, message, receiverGeneration });
          }
          handler(from, type, payload);
        });
      },
    };
  }

  /** Forgets messages that can no longer arrive: to a crashed member, or over a cut link. */
  dropUndeliverable(canReach: (from: string, to: string) => boolean, paused: Set<string>): void {
    const now = this.now();
    for (let position = this.inFlight.length - 1; position >= 0; position--) {
      const watched = this.inFlight[position]!;
      const tooOld = now - watched.sentAtMs > this.maxLatencyMs + 1 && !paused.has(watched.to);
      if (this.isCrashed(watched.to) || !canReach(watched.from, watched.to) || tooOld) {
        this.inFlight.splice(position, 1);
      }
    }
  }

  /** Calls `listener` with every watched message as it arrives (virtual time is its arrival). */
  onArrival(listener: (watched: WatchedMessage) => void): void {
    this.arrivalListeners.push(listener);
  }

  /** Messages in flight, oldest first. */
  messagesInFlight(): readonly WatchedMessage[] {
    return this.inFlight;
  }

  /** The entry at `index` of `member`'s log as last seen, if it was seen. */
  entry(member: string, index: number): SeenEntry | undefined {
    return this.logs.get(member)?.get(index);
  }

  private arrived(from: string, to: string): void {
    // One connection per pair delivers in order, so the oldest watched one is the one arriving.
    const position = this.inFlight.findIndex(
      (watched) => watched.from === from && watched.to === to,
    );
    if (position < 0) return;
    const [watched] = this.inFlight.splice(position, 1);
    for (const listener of this.arrivalListeners) listener(watched!);
  }

  private remember(member: string, append: Extract<Message, { kind: 'append' }>): void {
    let log = this.logs.get(member);
    if (log === undefined) {
      log = new Map();
      this.logs.set(member, log);
    }
    for (const entry of append.entries) {
      const seen = log.get(entry.index);
      if (seen !== undefined && seen.generation !== entry.generation) {
        // A conflicting suffix is truncated (safety rule 4): forget it from here on.
        for (const index of [...log.keys()]) if (index >= entry.index) log.delete(index);
      }
      log.set(entry.index, {
        generation: entry.generation,
        text: entry.kind === 'empty' ? '' : commandText(entry.command),
      });
    }
  }
}
