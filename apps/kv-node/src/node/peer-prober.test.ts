import { describe, expect, it } from 'vitest';
import { PeerProber } from './peer-prober.js';

/** Manual time and one interval, so the test decides when probes go and come back. */
function harness() {
  let now = 0;
  let tick: (() => void) | undefined;
  const answers = new Map<string, { resolve(): void; reject(error: Error): void }[]>();
  const roundTrips: [string, number][] = [];
  const prober = new PeerProber({
    peers: ['b', 'c'],
    probe: (peer) =>
      new Promise<void>((resolve, reject) => {
        answers.set(peer, [...(answers.get(peer) ?? []), { resolve, reject }]);
      }),
    now: () => now,
    setInterval: (callback) => {
      tick = callback;
      return 1;
    },
    clearInterval: () => {
      tick = undefined;
    },
    onRoundTrip: (peer, seconds) => roundTrips.push([peer, seconds]),
  });
  return {
    prober,
    roundTrips,
    answers,
    advance: (ms: number) => {
      now += ms;
    },
    tick: () => tick?.(),
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('PeerProber', () => {
  it('probes every peer at once and records each answer as a round trip in seconds', async () => {
    const h = harness();
    h.prober.start();
    expect([...h.answers.keys()]).toEqual(['b', 'c']);
    h.advance(3);
    h.answers.get('b')?.[0]?.resolve();
    await settle();
    h.advance(2);
    h.answers.get('c')?.[0]?.resolve();
    await settle();
    expect(h.roundTrips).toEqual([
      ['b', 0.003],
      ['c', 0.005],
    ]);
    h.prober.stop();
  });

  it('keeps one probe in flight per peer, records nothing for a failed probe, stops on stop', async () => {
    const h = harness();
    h.prober.start();
    h.answers.get('c')?.[0]?.reject(new Error('connection lost'));
    await settle();
    h.tick();
    // b still has its first probe in flight; c gets a second one.
    expect(h.answers.get('b')).toHaveLength(1);
    expect(h.answers.get('c')).toHaveLength(2);
    expect(h.roundTrips).toEqual([]);
    h.prober.stop();
    h.answers.get('b')?.[0]?.resolve();
    await settle();
    expect(h.roundTrips).toEqual([]);
  });
});
