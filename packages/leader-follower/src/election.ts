import { majority } from '@x/quorum';
import type { ElectionContext } from './core-context.js';
import type { NodeId, VoteRequest, VoteResponse } from './messages.js';
import type { FailureDetectorKind, Random } from './core-types.js';
import { LeaderSuspicion, type TickClock } from './failure-detection.js';

/** How an election starts: a pre-vote round first, a real one, or one a leader handed over. */
export type CampaignKind = 'pre-vote' | 'election' | 'transfer';

/** Timing of elections, in ticks. */
export interface ElectionTiming {
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
  readonly advanceFirstElection: boolean;
  /** Which failure detector decides that the leader is gone. */
  readonly failureDetector: FailureDetectorKind;
  /** Phi at and above which the leader is suspected (phi-accrual only). */
  readonly phiThreshold: number;
}

/**
 * The election side of the core (etcd-io/raft's campaign and vote handling): a follower that
 * suspects its leader (through `@x/heartbeat`, see {@link LeaderSuspicion}) campaigns, with
 * pre-vote first (rule 6); votes go only to candidates whose log is at least as up to date
 * (rule 2); a leader may hand over with `timeout-now`.
 */
export class Election {
  /** Ticks since this follower last heard from a leader (or granted a vote, or campaigned). */
  electionElapsed = 0;
  /** Decides when the leader is gone. */
  readonly suspicion: LeaderSuspicion;
  private readonly votes = new Map<NodeId, boolean>();

  constructor(
    private readonly core: ElectionContext,
    clock: TickClock,
    random: Random,
    readonly timing: ElectionTiming,
  ) {
    this.suspicion = new LeaderSuspicion(timing.failureDetector, clock, random, timing);
    if (timing.advanceFirstElection) this.suspicion.advanceFirstElection();
  }

  /**
   * One tick without a leader's word: campaign once the leader is suspected. Only a voter of the
   * configuration in force campaigns: a learner or a removed member never does.
   */
  tick(): void {
    this.electionElapsed++;
    if (this.suspicion.suspectsLeader() && this.core.isVoter(this.core.id)) {
      this.campaign('pre-vote');
    }
  }

  /** The wait for a leader starts again: a leader was heard, a vote granted, a role taken. */
  restartWait(): void {
    this.electionElapsed = 0;
    this.suspicion.heard();
  }

  /** Draws the next election timeout (see {@link LeaderSuspicion.newElectionTimeout}). */
  resetTimeout(): void {
    this.suspicion.newElectionTimeout();
  }

  /** A follower that heard from a leader within the election timeout keeps it (leader lease). */
  inLeaderLease(): boolean {
    return (
      this.core.leaderId !== undefined &&
      this.core.ticksSinceLeaderContact() < this.timing.electionTimeoutTicks
    );
  }

  /**
   * Starts an election. `pre-vote` asks first whether a majority would vote for us, without
   * touching anyone's generation (rule 6); `election` and `transfer` bump the generation.
   */
  campaign(kind: CampaignKind): void {
    const core = this.core;
    const preVote = kind === 'pre-vote';
    if (preVote) core.becomePreCandidate();
    else core.becomeCandidate();
    core.cover('election-started');
    this.restartWait();
    this.resetTimeout();
    this.votes.clear();
    // A server outside the voters never gets here (tick and timeout-now check): its own vote
    // counts as any voter's does, through the tally.
    this.votes.set(core.id, true);
    if (this.tally() === 'won') {
      this.win(preVote);
      return;
    }
    const log = core.replica.log;
    const request: VoteRequest = {
      kind: 'vote-request',
      generation: preVote ? core.generation + 1 : core.generation,
      preVote,
      leadershipTransfer: kind === 'transfer',
      lastLogIndex: log.lastIndex,
      lastLogGeneration: log.lastGeneration,
      ...core.identities.field(),
    };
    for (const voter of core.configuration.voters) {
      if (voter !== core.id) core.send(voter, request);
    }
  }

  /**
   * Membership is checked on every vote request: a candidate the configuration in force lists as
   * a voter is considered; one it does not (a learner, a removed or an unknown member) gets no
   * vote and may not raise this server's generation, unless its log is strictly more up to date
   * than ours. Such a candidate may hold a configuration entry we lack that made it a voter (it
   * was promoted while we lagged): refusing it could leave the cluster without any candidate able
   * to win (simulation seed 15266). A removed member that never received the entry removing it is
   * never strictly ahead of a server that holds that entry, so it still cannot disturb the
   * members that know of its removal. Granting or refusing never harms safety: a candidate counts
   * only the voters of its own configuration.
   */
  considersCandidate(from: NodeId, request: VoteRequest): boolean {
    if (this.core.isVoter(from)) return true;
    const log = this.core.replica.log;
    return (
      request.lastLogGeneration > log.lastGeneration ||
      (request.lastLogGeneration === log.lastGeneration && request.lastLogIndex > log.lastIndex)
    );
  }

  handleVoteRequest(from: NodeId, request: VoteRequest): void {
    const core = this.core;
    const log = core.replica.log;
    const canVote =
      this.considersCandidate(from, request) &&
      (core.votedFor === from ||
        (core.votedFor === undefined && core.leaderId === undefined) ||
        (request.preVote && request.generation > core.generation));
    // Rule 2: only a candidate whose log is at least as up to date as ours.
    const upToDate =
      request.lastLogGeneration > log.lastGeneration ||
      (request.lastLogGeneration === log.lastGeneration && request.lastLogIndex >= log.lastIndex);
    if (canVote && upToDate) {
      if (!request.preVote) {
        core.recordVote(from);
        this.restartWait();
      }
      core.send(from, {
        kind: 'vote-response',
        generation: request.generation,
        preVote: request.preVote,
        granted: true,
        ...core.identities.field(),
      });
    } else {
      core.send(from, {
        kind: 'vote-response',
        generation: core.generation,
        preVote: request.preVote,
        granted: false,
        ...core.identities.field(),
      });
    }
  }

  handleVoteResponse(from: NodeId, response: VoteResponse): void {
    const core = this.core;
    const counting =
      (core.role === 'pre-candidate' && response.preVote) ||
      (core.role === 'candidate' && !response.preVote);
    if (!counting) return;
    if (response.preVote && response.granted && response.generation !== core.generation + 1) return;
    this.votes.set(from, response.granted);
    const outcome = this.tally();
    if (outcome === 'won') this.win(response.preVote);
    else if (outcome === 'lost') {
      if (response.preVote) core.cover('pre-vote-rejected');
      core.becomeFollower(core.generation, undefined);
    }
  }

  private win(preVote: boolean): void {
    if (preVote) this.campaign('election');
    else this.core.becomeLeader();
  }

  /** Counts the votes of the configuration's voters only (a learner's answer never counts). */
  private tally(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    const voters = this.core.configuration.voters;
    for (const [member, vote] of this.votes) {
      if (!voters.includes(member)) continue;
      if (vote) granted++;
      else rejected++;
    }
    const needed = majority(voters.length);
    if (granted >= needed) return 'won';
    if (rejected >= needed) return 'lost';
    return 'pending';
  }
}
