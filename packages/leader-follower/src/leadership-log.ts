import type { LeaderFollowerCore } from './leader-follower-core.js';
import type { Role } from './core-types.js';
import type { NodeId } from './messages.js';
import type { Logger, NodeObserver } from './node-ports.js';

/**
 * Tells operators when the known leader or this node's role changed: the observer's
 * `leaderChanged` hook, and the log lines 'leader elected' and 'stale leader stepped down' (the
 * simulation counts them).
 */
export class LeadershipLog {
  private lastRole: Role = 'follower';
  private lastLeader: NodeId | undefined;

  constructor(
    private readonly id: NodeId,
    private readonly logger: Logger,
    private readonly observer: NodeObserver,
  ) {}

  /** Compares the core's leader and role with the last seen, and reports changes. */
  notice(core: LeaderFollowerCore): void {
    const leader = core.knownLeader;
    if (leader !== this.lastLeader) {
      this.lastLeader = leader;
      this.observer.leaderChanged?.(leader, core.currentGeneration);
    }
    const role = core.role;
    if (role === this.lastRole) return;
    const fields = { id: this.id, generation: core.currentGeneration };
    if (role === 'leader') this.logger.info(fields, 'leader elected');
    else if (this.lastRole === 'leader') this.logger.info(fields, 'stale leader stepped down');
    this.lastRole = role;
  }
}
