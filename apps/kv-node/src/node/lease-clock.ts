/**
 * This member's lease clock (see `lease/lease-driver.ts`) over its {@link LocalReplica}: expiry is
 * decided only while the replica leads, on the monotonic clock, and applied through the log.
 */

import { encodeCommand } from '../codec/command-codec.js';
import type { Timers } from '../http/api-context.js';
import { LeaseDriver } from '../lease/lease-driver.js';
import type { Logger } from '../logging/logger.js';
import type { LocalReplica } from './local-replica.js';

/** Options of {@link leaseClockOf}. */
export interface LeaseClockOptions {
  /** Monotonic clock in ms. */
  now: () => number;
  timers: Timers;
  /** The election timeout in ms: what a new leader adds to every lease. */
  electionTimeoutMs: number;
  logger?: Logger;
  /** Tick interval in ms (default `LEASE_TICK_MS`). */
  tickMs?: number;
}

/** A (not yet started) lease driver for `replica`. */
export function leaseClockOf(replica: LocalReplica, options: LeaseClockOptions): LeaseDriver {
  return new LeaseDriver({
    replica: {
      isLeader: () => replica.isLeader(),
      generation: () => replica.status().generation,
      catchUp: async () => {
        await replica.waitForApplied(await replica.readBarrier());
      },
      proposeLease: (request) => replica.propose(encodeCommand({ type: 'lease', request })),
    },
    table: replica.leases,
    now: options.now,
    timers: options.timers,
    electionTimeoutMs: options.electionTimeoutMs,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
  });
}
