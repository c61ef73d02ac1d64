/**
 * A status source that asks every member for its own status (`GET /v1/cluster`) over HTTP, for
 * a process that knows every member's client URL: the local cluster launcher, or a test.
 */

import type { ClusterStatusSource } from './cluster-status-source.js';
import type { DashboardRole, NodeView } from './cluster-view.js';

/** What a quorum-mode member (`--replication quorum`) reports of itself and of its peers. */
interface QuorumReport {
  name: string;
  keys: number;
  tombstones: number;
  stateHash: string;
  /** `repair_backlog`: differing buckets in the last anti-entropy round (`null` before one). */
  repairBacklog: number | null;
  /** Each peer: whether this member's failure detector suspects it (or it has not agreed). */
  suspects: Map<string, boolean>;
}

/**
 * Reads a quorum-mode member's `/v1/cluster` body (`replication: "quorum"`); `undefined` for
 * anything else.
 */
export function parseQuorumReport(body: unknown): QuorumReport | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const keys = numberOrNull(record['keys']);
  const name = record['name'];
  if (record['replication'] !== 'quorum' || typeof name !== 'string' || keys === null) {
    return undefined;
  }
  const suspects = new Map<string, boolean>();
  const members = Array.isArray(record['members']) ? (record['members'] as unknown[]) : [];
  for (const member of members) {
    if (typeof member !== 'object' || member === null) continue;
    const fields = member as Record<string, unknown>;
    if (typeof fields['name'] !== 'string' || fields['self'] === true) continue;
    suspects.set(fields['name'], fields['suspected'] === true || fields['agreed'] === false);
  }
  const hash = record['state_hash'];
  return {
    name,
    keys,
    tombstones: numberOrNull(record['tombstones']) ?? 0,
    stateHash: typeof hash === 'string' ? hash.slice(0, 12) : '',
    repairBacklog: numberOrNull(record['repair_backlog']),
    suspects,
  };
}

/** A member the source polls. */
export interface PolledMember {
  name: string;
  /** Base URL of the member's client API, e.g. `http://127.0.0.1:2379`. */
  clientUrl: string;
}

/** Options of {@link HttpClusterStatusSource}. */
export interface HttpClusterStatusSourceOptions {
  members: readonly PolledMember[];
  /**
   * Longest wait for one member's answer, in ms (default 800). A paused (SIGSTOP) member never
   * answers; it is shown as unreachable after this long.
   */
  timeoutMs?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** What the leader reports of one member. */
interface PeerSeen {
  lag: number | null;
  heartbeatAgeMs: number | null;
  /** Not counted live by the leader's failure detector; null when not reported. */
  suspected: boolean | null;
  /** Listed as a learner (`is_learner`). */
  learner: boolean;
}

/** What this source reads from a member's `/v1/cluster` answer. */
interface MemberReport {
  name: string;
  role: DashboardRole;
  generation: number;
  lastIndex: number;
  highWaterMark: number;
  /** `snapshot_index` in `/v1/cluster`: the latest snapshot's index. */
  snapshotIndex: number | null;
  appliedIndex: number;
  /** The member's view of the others (lag and heartbeat age are known only to a leader). */
  peers: Map<string, PeerSeen>;
}

const ROLES = new Set<string>(['leader', 'follower', 'candidate', 'unknown']);

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Reads a `/v1/cluster` body; `undefined` when it is not the expected shape. */
export function parseClusterReport(body: unknown): MemberReport | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const generation = numberOrNull(record['generation']);
  const lastIndex = numberOrNull(record['last_log_index']);
  const highWaterMark = numberOrNull(record['commit_index']);
  const appliedIndex = numberOrNull(record['applied_index']);
  const name = record['name'];
  const role = record['role'];
  if (
    typeof name !== 'string' ||
    typeof role !== 'string' ||
    generation === null ||
    lastIndex === null ||
    highWaterMark === null ||
    appliedIndex === null
  ) {
    return undefined;
  }
  const peers = new Map<string, PeerSeen>();
  const members = Array.isArray(record['members']) ? (record['members'] as unknown[]) : [];
  for (const member of members) {
    if (typeof member !== 'object' || member === null) continue;
    const fields = member as Record<string, unknown>;
    if (typeof fields['name'] !== 'string') continue;
    peers.set(fields['name'], {
      lag: numberOrNull(fields['lag']),
      heartbeatAgeMs: numberOrNull(fields['last_contact_ago_ms']),
      suspected: typeof fields['suspected'] === 'boolean' ? fields['suspected'] : null,
      learner: fields['is_learner'] === true,
    });
  }
  return {
    name,
    role: ROLES.has(role) ? (role as DashboardRole) : 'unknown',
    generation,
    lastIndex,
    highWaterMark,
    snapshotIndex: numberOrNull(record['snapshot_index']),
    appliedIndex,
    peers,
  };
}

/**
 * Polls every member's `GET /v1/cluster` in parallel. Each row shows what the member says of
 * itself; lag and heartbeat age come from the leader with the highest generation, the only
 * member that knows them. A member that does not answer in time is `unreachable`.
 */
export class HttpClusterStatusSource implements ClusterStatusSource {
  #members: readonly PolledMember[];
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  /** @param options the members to poll and the per-member timeout. */
  constructor(options: HttpClusterStatusSourceOptions) {
    this.#members = options.members;
    this.#timeoutMs = options.timeoutMs ?? 800;
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * Polls these members from the next sample on (the local cluster launcher after a membership
   * change); a sample under way finishes with the members it started with.
   */
  setMembers(members: readonly PolledMember[]): void {
    this.#members = [...members];
  }

  /** Asks every member at once; never rejects. */
  async sample(): Promise<NodeView[]> {
    const members = this.#members;
    const bodies = await Promise.all(members.map((member) => this.#body(member)));
    const quorumReports = bodies.map((body) => parseQuorumReport(body));
    if (quorumReports.some((report) => report !== undefined))
      return this.#quorumViews(members, quorumReports);
    const reports = bodies.map((body) => parseClusterReport(body));
    let leader: MemberReport | undefined;
    for (const report of reports) {
      if (
        report?.role === 'leader' &&
        (leader === undefined || report.generation > leader.generation)
      ) {
        leader = report;
      }
    }
    return members.map((member, index): NodeView => {
      const report = reports[index];
      const seenByLeader = leader?.peers.get(member.name);
      // The leader's configuration is the one in force; without a leader, the member's own.
      const learner =
        (seenByLeader ?? report?.peers.get(member.name))?.learner === true
          ? { learner: true as const }
          : {};
      if (report === undefined) {
        return {
          name: member.name,
          role: 'unreachable',
          generation: null,
          lastIndex: null,
          highWaterMark: null,
          snapshotIndex: null,
          appliedIndex: null,
          lagBehindLeader: null,
          heartbeatAgeMs: seenByLeader?.heartbeatAgeMs ?? null,
          suspectedByLeader: seenByLeader?.suspected ?? null,
          clientUrl: member.clientUrl,
          ...learner,
        };
      }
      return {
        name: member.name,
        role: report.role,
        generation: report.generation,
        lastIndex: report.lastIndex,
        highWaterMark: report.highWaterMark,
        snapshotIndex: report.snapshotIndex,
        appliedIndex: report.appliedIndex,
        lagBehindLeader:
          seenByLeader?.lag ??
          (leader === undefined ? null : Math.max(0, leader.lastIndex - report.lastIndex)),
        heartbeatAgeMs: seenByLeader?.heartbeatAgeMs ?? null,
        suspectedByLeader: seenByLeader?.suspected ?? null,
        clientUrl: member.clientUrl,
        ...learner,
      };
    });
  }

  /**
   * Rows of a leaderless cluster: each member's replica as it reports it, and whether a peer that
   * answered suspects it (a member down or paused shows as unreachable, suspected by the others).
   */
  #quorumViews(
    members: readonly PolledMember[],
    reports: readonly (QuorumReport | undefined)[],
  ): NodeView[] {
    return members.map((member, index): NodeView => {
      const report = reports[index];
      const opinions = reports
        .filter((other) => other !== undefined && other.name !== member.name)
        .map((other) => other?.suspects.get(member.name))
        .filter((opinion) => opinion !== undefined);
      const suspectedByPeers = opinions.length === 0 ? null : opinions.some((opinion) => opinion);
      const unknown = leaderModeFieldsUnknown(member.clientUrl);
      if (report === undefined) {
        return { name: member.name, role: 'unreachable', ...unknown, suspectedByPeers };
      }
      return {
        name: member.name,
        role: 'quorum',
        ...unknown,
        quorum: {
          keys: report.keys,
          tombstones: report.tombstones,
          stateHash: report.stateHash,
          repairBacklog: report.repairBacklog,
        },
        suspectedByPeers,
      };
    });
  }

  async #body(member: PolledMember): Promise<unknown> {
    try {
      const response = await this.#fetch(`${member.clientUrl}/v1/cluster`, {
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (!response.ok) {
        await response.arrayBuffer();
        return undefined;
      }
      return await response.json();
    } catch {
      // Down, paused or partitioned: the row says unreachable, which is the point of the page.
      return undefined;
    }
  }
}

/**
 * The fields of a dashboard row that only leader mode knows (generation, log, lag, the leader's
 * view of heartbeats), unknown for a leaderless member, with the member's client URL.
 */
export function leaderModeFieldsUnknown(clientUrl: string | null) {
  return {
    generation: null,
    lastIndex: null,
    highWaterMark: null,
    snapshotIndex: null,
    appliedIndex: null,
    lagBehindLeader: null,
    heartbeatAgeMs: null,
    suspectedByLeader: null,
    clientUrl,
  } as const;
}
