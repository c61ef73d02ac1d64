import {
  IndeterminateOutcomeError,
  NotLeaderError,
  type NodeObserver,
  type Role,
} from '@x/leader-follower';
import {
  Cluster,
  NodeUnavailableError,
  SimulationTimeoutError,
  uniformLatency,
  type NodePorts,
  type SimulatedClient,
} from '@x/simulation';
import { formatAction, type PlaygroundAction, type ScriptedAction } from './fault-script.js';
import { MessageWatcher, type Delivery, type WatchedMessage } from './message-watcher.js';
import {
  explainChange,
  explainStaleMessage,
  type MemberFacts,
  type Narration,
  type NarrationKind,
} from './narration.js';
import type { PlaygroundConfig } from './playground-config.js';
import { PlaygroundMember } from './playground-member.js';

/** Network latency between members: slow enough to watch messages travel. */
const LATENCY_MS = { min: 15, max: 40 } as const;
/** How many log entries a member's view shows (the most recent ones). */
const LOG_CELLS = 12;
/** Narration lines kept (the page shows the last ones). */
const NARRATION_KEPT = 200;

/** One cell of a member's log strip. */
export interface LogCell {
  readonly index: number;
  /** Undefined when the playground has not seen the entry travel (it is on the member's disk). */
  readonly generation: number | undefined;
  /** `key=value`, `(empty)` for a leader's empty entry, `?` when not seen. */
  readonly text: string;
  /** At or below the member's high-water mark. */
  readonly committed: boolean;
}

/** What the page shows of one member. */
export interface MemberView {
  readonly name: string;
  readonly process: 'starting' | 'running' | 'paused' | 'crashed';
  /** Undefined while the member has no running instance. */
  readonly role: Role | undefined;
  readonly generation: number | undefined;
  readonly votedFor: string | undefined;
  readonly leaderId: string | undefined;
  readonly lastIndex: number | undefined;
  readonly highWaterMark: number | undefined;
  readonly lowWaterMark: number | undefined;
  readonly appliedIndex: number | undefined;
  readonly log: readonly LogCell[];
  readonly values: readonly (readonly [string, string])[];
}

/** A message on its way, with how far it has travelled (0 at the sender, 1 at the receiver). */
export interface MessageView {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly kind: string;
  readonly summary: string;
  readonly progress: number;
}

/** Everything the page draws at one instant. */
export interface ClusterView {
  readonly nowMs: number;
  readonly eventsRun: number;
  readonly traceHash: string;
  readonly members: readonly MemberView[];
  readonly messages: readonly MessageView[];
  /** The running member leading the highest generation, if any. */
  readonly leader: { readonly name: string; readonly generation: number } | undefined;
  /** Pairs of members that cannot reach each other (either direction). */
  readonly cutLinks: readonly (readonly [string, string])[];
  /** Set when the run failed (a safety assertion fired): the run stops there. */
  readonly failure: string | undefined;
}

function summarize(watched: WatchedMessage): string {
  const m = watched.message;
  switch (m.kind) {
    case 'append':
      return `append ${m.entries.length} entr${m.entries.length === 1 ? 'y' : 'ies'} after ${m.prevIndex}, generation ${m.generation}, high-water mark ${m.highWaterMark}`;
    case 'append-response':
      return `${m.rejected ? 'rejected' : 'accepted'} append up to ${m.index}, generation ${m.generation}`;
    case 'vote-request':
      return `${m.preVote ? 'pre-vote' : 'vote'} request for generation ${m.generation}`;
    case 'vote-response':
      return `${m.preVote ? 'pre-vote' : 'vote'} ${m.granted ? 'granted' : 'refused'}, generation ${m.generation}`;
    case 'heartbeat':
      return `heartbeat, generation ${m.generation}, high-water mark ${m.highWaterMark}`;
    case 'snapshot-chunk':
      return `snapshot through ${m.snapshotIndex}, bytes ${m.offset}-${m.offset + m.data.length} of ${m.totalBytes}`;
    default:
      return `${m.kind}, generation ${m.generation}`;
  }
}

/**
 * One playground run: a simulated cluster of real leader-follower members, a fault script, and the
 * narration of what happened. A run is a pure function of its {@link PlaygroundConfig}: scripted
 * actions are applied after every event at or before their time and before any later one, however
 * the run is advanced (in big or small steps, or one event at a time), so a link replays it.
 */
export class PlaygroundRun {
  /** The simulated cluster (public for tests and the page's diagnostics). */
  readonly cluster: Cluster<PlaygroundMember>;
  private readonly watcher: MessageWatcher;
  private readonly client: SimulatedClient<PlaygroundMember>;
  private readonly pending: ScriptedAction[];
  private readonly performed: ScriptedAction[] = [];
  private readonly narrations: Narration[] = [];
  private readonly lastFacts = new Map<string, MemberFacts>();
  private readonly staleReported = new Set<string>();
  private previousMember: string | undefined;
  private failure: string | undefined;
  private busy = false;

  private constructor(readonly config: PlaygroundConfig) {
    this.pending = [...config.script];
    this.watcher = new MessageWatcher(
      () => this.cluster.now,
      (name) => this.cluster.node(name).state === 'crashed',
      LATENCY_MS.max,
    );
    this.cluster = new Cluster<PlaygroundMember>({
      seed: config.seed,
      nodes: config.members,
      network: { latency: uniformLatency(LATENCY_MS.min, LATENCY_MS.max) },
      createNode: (ports) => this.openMember(ports),
    });
    this.cluster.network.addFilter(this.watcher.filter);
    this.cluster.simulation.afterEachStep(() => this.observe());
    this.cluster.onNodeCrash((node, reason) => {
      if (reason !== 'crash') this.narrate('fault', `${node.name} stopped: ${reason}`, node.name);
    });
    this.client = this.cluster.client(1);
  }

  /** Builds the cluster and starts every member (their logs open at virtual time 0). */
  static async start(config: PlaygroundConfig): Promise<PlaygroundRun> {
    const run = new PlaygroundRun(config);
    await run.cluster.start();
    return run;
  }

  /** Virtual time in milliseconds. */
  get nowMs(): number {
    return this.cluster.now;
  }

  /** The script of this run so far and still to come: scripted actions and the reader's own. */
  get script(): ScriptedAction[] {
    return [...this.performed, ...this.pending];
  }

  /** Every explained transition so far, oldest first (the last {@link NARRATION_KEPT}). */
  get narration(): readonly Narration[] {
    return this.narrations;
  }

  /**
   * Calls `listener` with every message between members as it arrives (the virtual time is its
   * arrival time), e.g. to draw a sequence diagram of the run.
   */
  onMessageArrived(listener: (message: WatchedMessage) => void): void {
    this.watcher.onArrival(listener);
  }

  /** Advances virtual time by `ms`, applying scripted actions on the way. */
  advanceBy(ms: number): Promise<void> {
    return this.exclusively(() => this.advanceTo(this.cluster.now + ms));
  }

  /** Runs exactly one event: the next simulator event, or the next scripted action if it comes first. */
  stepOne(): Promise<void> {
    return this.exclusively(async () => {
      const next = this.pending[0];
      if (next === undefined) {
        await this.cluster.simulation.step();
        return;
      }
      let checks = 0;
      try {
        // Steps once if an event is due at or before the action's time; otherwise times out.
        await this.cluster.simulation.runUntil(
          () => checks++ > 0,
          Math.max(0, next.atMs - this.cluster.now),
        );
      } catch (error) {
        if (!(error instanceof SimulationTimeoutError)) throw error;
        await this.cluster.runFor(Math.max(0, next.atMs - this.cluster.now));
        this.applyNext();
      }
    });
  }

  /**
   * Does `action` now, as the reader: it joins the script at the next whole millisecond (so the
   * link of the run reproduces it) and happens before this call resolves.
   */
  perform(action: PlaygroundAction): Promise<void> {
    return this.exclusively(async () => {
      const atMs = Math.ceil(this.cluster.now);
      let position = this.pending.length;
      while (position > 0 && this.pending[position - 1]!.atMs > atMs) position--;
      this.pending.splice(position, 0, { atMs, action });
      await this.advanceTo(atMs);
    });
  }

  /** Runs until virtual time `endMs` or until `condition` holds, whichever is first. */
  runUntil(condition: (run: PlaygroundRun) => boolean, endMs: number): Promise<void> {
    return this.exclusively(async () => {
      while (!condition(this) && this.cluster.now < endMs) {
        await this.advanceTo(Math.min(endMs, this.cluster.now + 10));
      }
    });
  }

  /** What the page shows now. */
  view(): ClusterView {
    const paused = new Set(
      this.cluster.nodes.filter((node) => node.state === 'paused').map((node) => node.name),
    );
    const network = this.cluster.network;
    this.watcher.dropUndeliverable((from, to) => network.canReach(from, to), paused);
    const members = this.cluster.nodes.map((node) => this.memberView(node.name));
    const names = this.cluster.names;
    const cutLinks: [string, string][] = [];
    for (const [position, a] of names.entries()) {
      for (const b of names.slice(position + 1)) {
        if (!network.canReach(a, b) || !network.canReach(b, a)) cutLinks.push([a, b]);
      }
    }
    const now = this.cluster.now;
    return {
      nowMs: now,
      eventsRun: this.cluster.simulation.eventsRun,
      traceHash: this.cluster.traceHash,
      members,
      messages: this.watcher.messagesInFlight().map((watched) => ({
        id: watched.id,
        from: watched.from,
        to: watched.to,
        kind: watched.message.kind,
        summary: summarize(watched),
        progress: Math.min(0.97, (now - watched.sentAtMs) / LATENCY_MS.max),
      })),
      leader: this.currentLeader(),
      cutLinks,
      failure: this.failure,
    };
  }

  // ---------------------------------------------------------------------------------------------

  private async openMember(ports: NodePorts): Promise<PlaygroundMember> {
    const observer: NodeObserver = {
      snapshotSaved: (index, sizeBytes, source) => {
        if (source === 'installed') {
          this.narrate(
            'snapshot',
            `${ports.name} caught up by snapshot: it was behind the leader's low-water mark (the entries it lacked are no longer in any log), so the leader sent a snapshot of the state through entry ${index} (${sizeBytes} bytes) instead.`,
            ports.name,
          );
        } else {
          this.narrate(
            'snapshot',
            `${ports.name} took a snapshot through entry ${index}: its low-water mark can move up and the log below it is deleted, so the log does not grow forever.`,
            ports.name,
          );
        }
      },
    };
    const transport = this.watcher.wrap(
      ports.name,
      ports.transport,
      () => this.liveMember(ports.name)?.node.generation,
      (delivery) => this.noticeStale(delivery),
    );
    return PlaygroundMember.open(ports, transport, observer);
  }

  private liveMember(name: string): PlaygroundMember | undefined {
    const node = this.cluster.node(name);
    return node.state === 'crashed' ? undefined : node.instance;
  }

  private noticeStale({ from, to, message, receiverGeneration }: Delivery): void {
    if (receiverGeneration === undefined || message.generation >= receiverGeneration) return;
    if (message.kind !== 'append' && message.kind !== 'heartbeat') return;
    const key = `${from}>${to}@${message.generation}`;
    if (this.staleReported.has(key)) return;
    this.staleReported.add(key);
    this.narrate(
      'stale',
      explainStaleMessage(from, to, message.kind, message.generation, receiverGeneration),
      to,
    );
  }

  private currentLeader(): { name: string; generation: number } | undefined {
    let leader: { name: string; generation: number } | undefined;
    for (const node of this.cluster.nodes) {
      const member = node.state === 'running' ? node.instance : undefined;
      if (member === undefined || member.node.role !== 'leader') continue;
      if (leader === undefined || member.node.generation > leader.generation) {
        leader = { name: node.name, generation: member.node.generation };
      }
    }
    return leader;
  }

  private memberView(name: string): MemberView {
    const node = this.cluster.node(name);
    const member = this.liveMember(name);
    const status = member?.node.status();
    const log: LogCell[] = [];
    if (status !== undefined) {
      const first = Math.max(status.lowWaterMark + 1, status.lastIndex - LOG_CELLS + 1, 1);
      for (let index = first; index <= status.lastIndex; index++) {
        const seen = this.watcher.entry(name, index);
        log.push({
          index,
          generation: seen?.generation,
          text: seen === undefined ? '?' : seen.text === '' ? '(empty)' : seen.text,
          committed: index <= status.highWaterMark,
        });
      }
    }
    return {
      name,
      process: node.state,
      role: status?.role,
      generation: status?.generation,
      votedFor: status?.votedFor,
      leaderId: status?.leaderId,
      lastIndex: status?.lastIndex,
      highWaterMark: status?.highWaterMark,
      lowWaterMark: status?.lowWaterMark,
      appliedIndex: status?.appliedIndex,
      log,
      values: member === undefined ? [] : [...member.values].sort(([a], [b]) => (a < b ? -1 : 1)),
    };
  }

  private facts(name: string): MemberFacts | undefined {
    const member = this.cluster.node(name).state === 'running' ? this.liveMember(name) : undefined;
    if (member === undefined) return undefined;
    const status = member.node.status();
    return {
      name,
      role: status.role,
      generation: status.generation,
      highWaterMark: status.highWaterMark,
      lastHeartbeatAgeMs: status.lastHeartbeatAgeMs,
    };
  }

  /** After every event: explain what changed. */
  private observe(): void {
    for (const name of this.cluster.names) {
      const after = this.facts(name);
      const before = this.lastFacts.get(name);
      if (after === undefined) {
        // A crashed member's memory is gone: compare its next incarnation with nothing.
        this.lastFacts.delete(name);
        continue;
      }
      if (before !== undefined) {
        for (const line of explainChange(before, after, this.cluster.nodes.length)) {
          this.narrate(line.kind, line.text, name);
        }
      }
      this.lastFacts.set(name, after);
    }
  }

  private narrate(kind: NarrationKind, text: string, member?: string): void {
    this.narrations.push({ atMs: this.cluster.now, kind, text, member });
    if (this.narrations.length > NARRATION_KEPT) this.narrations.shift();
  }

  private async exclusively(body: () => Promise<void>): Promise<void> {
    if (this.failure !== undefined) return;
    if (this.busy) throw new Error('the run is already advancing');
    this.busy = true;
    try {
      await body();
    } catch (error) {
      this.failure = error instanceof Error ? error.message : String(error);
      this.narrate('fault', `The run failed: ${this.failure}`);
    } finally {
      this.busy = false;
    }
  }

  private async advanceTo(endMs: number): Promise<void> {
    while (this.pending[0] !== undefined && this.pending[0].atMs <= endMs) {
      await this.cluster.runFor(Math.max(0, this.pending[0].atMs - this.cluster.now));
      this.applyNext();
    }
    await this.cluster.runFor(Math.max(0, endMs - this.cluster.now));
  }

  private applyNext(): void {
    const scripted = this.pending.shift();
    if (scripted === undefined) return;
    this.performed.push(scripted);
    this.apply(scripted.action);
  }

  /** Resolves `leader`, `follower`, `previous` or a name to a member, or explains why not. */
  private resolve(reference: string, taken: readonly string[] = []): string | undefined {
    const names = this.cluster.names;
    let resolved: string | undefined;
    if (reference === 'leader') resolved = this.currentLeader()?.name;
    else if (reference === 'previous') resolved = this.previousMember;
    else if (reference === 'follower') {
      resolved = names.find((name) => {
        const member =
          this.cluster.node(name).state === 'running' ? this.liveMember(name) : undefined;
        return member !== undefined && member.node.role !== 'leader' && !taken.includes(name);
      });
    } else if (names.includes(reference)) resolved = reference;
    if (resolved === undefined) {
      this.narrate('fault', `Skipped: no member is "${reference}" now.`);
    }
    return resolved;
  }

  private apply(action: PlaygroundAction): void {
    const cluster = this.cluster;
    if (action.kind === 'heal') {
      cluster.apply({ kind: 'heal' });
      this.narrate('fault', 'The network healed: every member can reach every other again.');
      return;
    }
    if (action.kind === 'partition') {
      const taken: string[] = [];
      const groups: string[][] = [];
      for (const group of action.groups) {
        const resolved: string[] = [];
        for (const reference of group) {
          const name = this.resolve(reference, taken);
          if (name === undefined) return;
          taken.push(name);
          resolved.push(name);
        }
        groups.push(resolved);
      }
      this.previousMember = groups[0]?.[0];
      cluster.apply({ kind: 'partition', groups });
      const rest = cluster.names.filter((name) => !taken.includes(name));
      const sides = [...groups, ...(rest.length > 0 ? [rest] : [])];
      this.narrate(
        'fault',
        `Partition: ${sides.map((side) => `{${side.join(', ')}}`).join(' cannot reach ')}. Only a side with a quorum can elect a leader or commit.`,
      );
      return;
    }
    if (action.kind === 'put') {
      const target = action.to === undefined ? this.currentLeader()?.name : this.resolve(action.to);
      if (target === undefined) {
        this.narrate(
          'client',
          `The client has no leader to send put ${action.key}=${action.value} to.`,
        );
        return;
      }
      if (action.to !== undefined) this.previousMember = target;
      this.put(target, action.key, action.value);
      return;
    }
    const name = this.resolve(action.member);
    if (name === undefined) return;
    this.previousMember = name;
    const text = formatAction({ ...action, member: name });
    switch (action.kind) {
      case 'crash':
        cluster.apply({ kind: 'crash', node: name });
        this.narrate(
          'fault',
          `${text}: the process dies; what it had not fsynced is lost, its disk keeps the rest.`,
          name,
        );
        return;
      case 'restart':
        cluster.apply({ kind: 'restart', node: name });
        this.narrate(
          'fault',
          `${text}: it reads its generation, vote and log back from disk and rejoins as a follower.`,
          name,
        );
        return;
      case 'pause':
        cluster.apply({ kind: 'pause', node: name });
        this.narrate(
          'fault',
          `${text}: frozen (think of a long GC pause or SIGSTOP); it still believes whatever it believed.`,
          name,
        );
        return;
      case 'resume':
        cluster.apply({ kind: 'resume', node: name });
        this.narrate(
          'fault',
          `${text}: it wakes up and carries on where it stopped, with the generation it had then.`,
          name,
        );
        return;
      case 'skew':
        cluster.apply({ kind: 'clock-jump', node: name, ms: action.ms });
        this.narrate(
          'fault',
          `${text}: its monotonic clock jumps ${action.ms} ms forward, so the timer it had set fires at once. The node counts its timeouts in ticks of that timer, so a jump brings one tick forward, not a whole election timeout.`,
          name,
        );
        return;
      case 'isolate':
        cluster.apply({ kind: 'isolate', node: name });
        this.narrate('fault', `${text}: it can reach nobody and nobody can reach it.`, name);
        return;
    }
  }

  private put(target: string, key: string, value: string): void {
    const operation = `put ${key}=${value}`;
    this.narrate('client', `The client sends ${operation} to ${target}.`, target);
    this.client
      .call(target, (member) => member.put(key, value))
      .then(
        () =>
          this.narrate(
            'client',
            `${operation} succeeded: ${target} answered only after a quorum stored the entry and it was applied.`,
          ),
        (error: unknown) => {
          let why = error instanceof Error ? error.message : String(error);
          if (error instanceof NotLeaderError) {
            why = `definite failure, ${target} is not the leader${error.leaderId === undefined ? '' : ` (it points to ${error.leaderId})`}`;
          } else if (error instanceof IndeterminateOutcomeError) {
            why = `outcome unknown (${error.message}): the entry may still be committed later`;
          } else if (error instanceof NodeUnavailableError) {
            why = `${target} is not running`;
          }
          this.narrate('client', `${operation} failed: ${why}.`, target);
        },
      );
  }
}
