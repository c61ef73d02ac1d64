import { describe, expect, it } from 'vitest';
import { isHollowEntry } from './log-entry.js';
import { CoreNetwork } from './test-support/core-network.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

// The core asks for the entries it needs (DESIGN.md §5): an append that needs entries whose
// bytes left memory waits in the core until the driver has loaded them; nothing hollow is sent.

describe('entries the core asks to load', () => {
  it('names the entries, holds the append and the peer’s later messages until they are loaded', () => {
    const network = new CoreNetwork(['a', 'b', 'c'], { maxAppendBytes: 64 });
    network.payloadWindowBytes = 0;
    network.elect('a');
    const a = network.core('a');
    network.isolate('c');
    for (let i = 0; i < 12; i++) a.propose(bytes(`write ${i}`.padEnd(16, '.')));
    network.deliver();
    expect(a.logPayloadBytes).toBe(0);

    network.holdLoads = true;
    network.heal();
    const delivered = network.delivered.length;
    network.run(3);
    // One load per peer at a time, naming the range and its bytes.
    expect(network.heldLoads).toHaveLength(1);
    const [{ id, request }] = network.heldLoads as [(typeof network.heldLoads)[number]];
    expect(id).toBe('a');
    expect(request).toMatchObject({ peer: 'c', from: 2 });
    expect(request.bytes).toBe((request.to - request.from + 1) * 16);
    const toC = () => network.delivered.slice(delivered).filter((m) => m.to === 'c');
    // Nothing for c carried entries meanwhile; at most the heartbeats that went before the load.
    expect(toC().some((m) => m.message.kind === 'append' && m.message.entries.length > 0)).toBe(
      false,
    );
    expect(network.core('c').status().lastIndex).toBe(1);

    network.holdLoads = false;
    network.answerLoads();
    network.runUntil(() => network.core('c').status().appliedIndex === a.status().lastIndex, 50);
    const appends = toC().flatMap((m) => (m.message.kind === 'append' ? [m.message] : []));
    expect(appends.flatMap((append) => append.entries).some(isHollowEntry)).toBe(false);
    expect(network.refills.sent).toBeGreaterThan(1);
  });
});
