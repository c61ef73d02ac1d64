import { seededRandom } from '@x/wal/testing';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from './log-entry.js';
import { MESSAGE_TYPES, decodeMessage } from './message-codec.js';
import type { AppendRequest, OutboundMessage } from './messages.js';
import { MemoryNodeStorage } from './memory-node-storage.js';
import { silentLogger } from './node-settings.js';
import { PeerMessages } from './peer-messages.js';

interface Sent {
  readonly to: string;
  readonly type: number;
  readonly payload: Uint8Array;
}

/** PeerMessages over a transport that records what it is given. */
function recordingPeers(): { peers: PeerMessages; sent: Sent[] } {
  const sent: Sent[] = [];
  const peers = new PeerMessages({
    transport: {
      send: (to, type, payload) => sent.push({ to, type, payload }),
      onMessage: () => undefined,
    },
    storage: new MemoryNodeStorage({ random: seededRandom(1) }),
    logger: silentLogger,
    stopped: () => false,
    entriesLoaded: () => undefined,
    fail: (error) => {
      throw error;
    },
  });
  return { peers, sent };
}

const entries: LogEntry[] = [5, 6, 7].map((index) => ({
  index,
  generation: 2,
  kind: 'command',
  command: new Uint8Array([index, index + 1, index + 2]),
}));

function append(prevIndex: number, fields: Partial<AppendRequest> = {}): AppendRequest {
  return {
    kind: 'append',
    generation: 2,
    prevIndex,
    prevGeneration: 2,
    entries: entries.filter((entry) => entry.index > prevIndex),
    highWaterMark: 4,
    ...fields,
  };
}

describe('PeerMessages.sendAll', () => {
  it('encodes an append that goes alike to several followers once and sends the same bytes', () => {
    const { peers, sent } = recordingPeers();
    // Each follower's append is its own message object with its own entries array, as the
    // leader builds them; only the entry objects are shared (the leader's log).
    peers.sendAll([
      { to: 'b', message: append(4) },
      { to: 'c', message: append(4) },
    ]);
    expect(sent.map(({ to, type }) => [to, type])).toEqual([
      ['b', MESSAGE_TYPES.append],
      ['c', MESSAGE_TYPES.append],
    ]);
    expect(sent[1]!.payload).toBe(sent[0]!.payload);
    expect(decodeMessage(MESSAGE_TYPES.append, sent[0]!.payload)).toEqual(append(4));
  });

  it('encodes appends that differ in any field or entry separately, each to its own bytes', () => {
    const { peers, sent } = recordingPeers();
    const other: LogEntry = { ...entries[2]!, command: new Uint8Array([9, 9, 9]) };
    const outbounds: OutboundMessage[] = [
      { to: 'b', message: append(4) },
      { to: 'c', message: append(4, { highWaterMark: 5 }) },
      { to: 'd', message: append(4, { generation: 3 }) },
      { to: 'e', message: append(4, { prevGeneration: 1 }) },
      { to: 'f', message: append(4, { entries: [entries[0]!, entries[1]!, other] }) },
      { to: 'g', message: append(4, { entries: entries.slice(0, 2) }) },
      { to: 'h', message: append(5) },
    ];
    peers.sendAll(outbounds);
    expect(new Set(sent.map(({ payload }) => payload)).size).toBe(outbounds.length);
    sent.forEach(({ to, type, payload }, i) => {
      expect(to).toBe(outbounds[i]!.to);
      expect(decodeMessage(type, payload)).toEqual(outbounds[i]!.message);
    });
  });

  it('keeps the order of a Ready, sharing bytes across pipelined batches and other messages', () => {
    const { peers, sent } = recordingPeers();
    const beat = {
      kind: 'heartbeat',
      generation: 2,
      highWaterMark: 4,
      readRound: 0,
    } as const;
    // A pipelined follower gets two batches; the second follower gets the same two.
    peers.sendAll([
      { to: 'b', message: append(4, { entries: entries.slice(0, 1) }) },
      { to: 'b', message: append(5) },
      { to: 'b', message: beat },
      { to: 'c', message: append(4, { entries: entries.slice(0, 1) }) },
      { to: 'c', message: append(5) },
      { to: 'c', message: beat },
    ]);
    expect(sent.map(({ to, type }) => [to, type])).toEqual([
      ['b', MESSAGE_TYPES.append],
      ['b', MESSAGE_TYPES.append],
      ['b', MESSAGE_TYPES.heartbeat],
      ['c', MESSAGE_TYPES.append],
      ['c', MESSAGE_TYPES.append],
      ['c', MESSAGE_TYPES.heartbeat],
    ]);
    expect(sent[3]!.payload).toBe(sent[0]!.payload);
    expect(sent[4]!.payload).toBe(sent[1]!.payload);
    expect(decodeMessage(MESSAGE_TYPES.append, sent[4]!.payload)).toEqual(append(5));
  });
});
