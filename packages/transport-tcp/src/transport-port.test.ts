import { describe, expectTypeOf, it } from 'vitest';
import type { TcpTransport } from './tcp-transport.js';

/** The Transport port as @x/leader-follower and @x/simulation declare it (DESIGN.md §4). */
interface Transport {
  send(to: string, type: number, payload: Uint8Array): void;
  onMessage(handler: (from: string, type: number, payload: Uint8Array) => void): void;
}

describe('TcpTransport', () => {
  it('satisfies the shared Transport port structurally', () => {
    expectTypeOf<TcpTransport>().toExtend<Transport>();
  });
});
