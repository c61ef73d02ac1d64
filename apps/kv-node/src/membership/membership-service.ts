/**
 * Membership changes as etcd 3.4's Cluster API offers them (add, remove, update, promote), run
 * on the leader, one at a time: the member registry (names and URLs, in the kv state machine)
 * and `@x/leader-follower`'s configuration (who votes, who learns) change through the same log.
 * A follower forwards the request to the leader on the peer transport. Every member keeps its
 * transport's peers equal to the configuration in force and publishes its own name and client
 * URLs, as an etcd member publishes its attributes once started.
 */

import type { ClusterConfiguration, ConfigurationChange } from '@x/leader-follower';
import { encodeCommand } from '../codec/command-codec.js';
import { ApiError, unavailable } from '../http/api-error.js';
import type { Logger } from '../logging/logger.js';
import { addedMemberIdOf } from '../config/member-id.js';
import type { ApplyOutcome } from '../store/kv-state-machine.js';
import type { MemberRegistryCommand, RegisteredMember } from '../store/member-registry.js';
import { KV_NODE_MESSAGE_TYPE_BASE } from '../node/transport.js';
import {
  memberBadUrls,
  memberIdExists,
  memberNotFound,
  memberNotLearner,
  membershipApiError,
  membershipChangeInFlight,
  peerUrlExists,
  tooManyLearners,
} from './member-errors.js';
import { apiErrorOfRefusal, refusalAnswerOf } from './forwarded-membership-answer.js';
import type { MembershipRefusalAnswer } from './forwarded-membership-answer.js';
import { describeMember, dialUrlOf, listMembers, listMembersAsAdded } from './member-directory.js';
import type { ListedMember, MemberDirectorySources } from './member-directory.js';

/** Learners a cluster may have at once, as etcd 3.4 allows (`membership.maxLearners`). */
export const MAX_LEARNERS = 1;

/** Salts tried for a fresh member id before giving up (only hash collisions need a second). */
const MAX_ID_TRIES = 8;

/** The peer transport request type of a membership request forwarded to the leader. */
export const MEMBERSHIP_REQUEST_TYPE = KV_NODE_MESSAGE_TYPE_BASE + 0x81;

/** A change as the Cluster API asks for it (member ids are etcd's, decimal). */
export type MembershipRequest =
  | { kind: 'add'; peerUrls: string[]; isLearner: boolean }
  | { kind: 'remove'; id: string }
  | { kind: 'update'; id: string; peerUrls: string[] }
  | { kind: 'promote'; id: string };

/** What a change answers: the member added (for `add`) and the members after the change. */
export interface MembershipAnswer {
  member?: ListedMember;
  members: ListedMember[];
}

/** The Cluster API's view of membership (absent in quorum mode). */
export interface Membership {
  /**
   * The members of the configuration in force here, as etcd lists them: a member added as a
   * voter is listed as one while kv-node still keeps it a learner (see `listMembersAsAdded`).
   */
  list(): ListedMember[];
  /**
   * Makes one change (on the leader, forwarded there from a follower); resolves once the leader
   * has applied it. @throws ApiError in etcd's words; definite unless it says otherwise.
   */
  change(request: MembershipRequest): Promise<MembershipAnswer>;
}

/** The part of `LeaderFollowerNode` the service calls. */
export interface MembershipNode {
  readonly role: string;
  readonly leaderId: string | undefined;
  readonly configuration: ClusterConfiguration;
  readonly configurationIndex: number;
  /** The index applied here last (salts the id of an added member). */
  readonly appliedThrough: number;
  proposeConfigurationChange(change: ConfigurationChange): Promise<ClusterConfiguration>;
}

/** The part of the peer transport the service calls (`@x/transport-tcp`'s `TcpTransport`). */
export interface MembershipTransport {
  readonly peerIds: string[];
  addPeer(peer: string, address: { host: string; port: number } | undefined): void;
  removePeer(peer: string): void;
  setPeerAddress(peer: string, address: { host: string; port: number }): void;
  request(
    to: string,
    type: number,
    payload: Uint8Array,
    options?: { timeoutMs?: number },
  ): Promise<{ type: number; payload: Uint8Array }>;
}

/** Options of {@link MembershipService}. */
export interface MembershipServiceOptions {
  node: MembershipNode;
  transport: MembershipTransport;
  directory: MemberDirectorySources;
  /** Proposes an encoded kv command (leader only) and resolves with its outcome once applied. */
  propose(command: Uint8Array): Promise<ApplyOutcome>;
  /** `--initial-cluster-token`: an added member's id is computed from it, its peer URLs and a salt. */
  clusterToken: string;
  /** This member's `--name`. */
  name: string;
  logger: Logger;
  /** How long a follower waits for the leader's answer, in milliseconds. */
  forwardTimeoutMs: number;
  /**
   * How long a removed member stays a transport peer, in milliseconds: the leader goes on
   * replicating to it until it has heard that its removal committed (then it stops itself).
   */
  removalGraceMs: number;
  /** Monotonic milliseconds. */
  now(): number;
}

/** Peer URLs as etcd accepts them: http(s)://host:port, nothing more. @throws 400. */
export function parsePeerUrls(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw memberBadUrls();
  return value.map((text) => {
    if (typeof text !== 'string') throw memberBadUrls();
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw memberBadUrls();
    }
    if (
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      url.port === '' ||
      url.hostname === '' ||
      (url.pathname !== '/' && url.pathname !== '') ||
      url.search !== '' ||
      url.hash !== '' ||
      url.username !== ''
    ) {
      throw memberBadUrls();
    }
    return url.origin;
  });
}

function addressOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port) };
}

/** See the file comment. */
export class MembershipService implements Membership {
  readonly #options: MembershipServiceOptions;
  /**
   * The change this leader is making (a user's, or the promotion of a member added as a voter),
   * until it is applied or refused: one at a time, and a second is refused, not queued (etcd's
   * rule; a queued change would run against a cluster its caller never saw).
   */
  #changing = false;
  #publishing = false;
  /** A voter request is being settled (see `#settleVoterRequests`). */
  #settling = false;
  /** The peer URL last given to the transport for each peer. */
  readonly #dialedUrls = new Map<string, string | undefined>();
  /** Transport peers no longer in the configuration, and since when (monotonic ms). */
  readonly #leftAt = new Map<string, number>();

  /** @param options see {@link MembershipServiceOptions}. */
  constructor(options: MembershipServiceOptions) {
    this.#options = options;
  }

  /** See {@link Membership.list}. */
  list(): ListedMember[] {
    return listMembersAsAdded(this.#options.directory);
  }

  /**
   * The members of the configuration in force here, each a learner exactly when it is one (a
   * member added as a voter too, until it is promoted): what a joining member starts from, and
   * kv-node's own status.
   */
  listInForce(): ListedMember[] {
    return listMembers(this.#options.directory);
  }

  /** See {@link Membership.change}. */
  change(request: MembershipRequest): Promise<MembershipAnswer> {
    const node = this.#options.node;
    if (node.role !== 'leader') return this.#forward({ request });
    return this.#oneAtATime(() => this.#changeAsLeader(request));
  }

  /** Runs `change` unless another is running. @throws 503 "etcdserver: unhealthy cluster". */
  async #oneAtATime<T>(change: () => Promise<T>): Promise<T> {
    if (this.#changing) throw membershipChangeInFlight();
    this.#changing = true;
    try {
      return await change();
    } finally {
      this.#changing = false;
    }
  }

  /** Where a member of the configuration in force listens, if known. */
  peerAddressOf(replicationId: string): { host: string; port: number } | undefined {
    const configuration = this.#options.node.configuration;
    if (
      !configuration.voters.includes(replicationId) &&
      !configuration.learners.includes(replicationId)
    ) {
      return undefined;
    }
    const url = dialUrlOf(this.#options.directory, replicationId);
    return url === undefined ? undefined : addressOf(url);
  }

  /**
   * Answers a request a follower forwarded (the transport's request handler): the answer or the
   * refusal (`forwarded-membership-answer.ts`), as JSON.
   */
  async answerForwarded(payload: Uint8Array): Promise<Uint8Array> {
    let answer: ForwardedAnswer;
    try {
      const forwarded = JSON.parse(Buffer.from(payload).toString('utf8')) as ForwardedRequest;
      if (this.#options.node.role !== 'leader')
        throw unavailable('etcdserver: not leader', 'no_leader');
      answer =
        forwarded.publish !== undefined
          ? { published: await this.#publishAsLeader(forwarded.publish) }
          : { answer: await this.change(forwarded.request as MembershipRequest) };
    } catch (error) {
      answer = refusalAnswerOf(error);
    }
    return Buffer.from(JSON.stringify(answer), 'utf8');
  }

  /**
   * One round of upkeep, run every few hundred milliseconds: keep the transport's peers equal to
   * the configuration in force, publish this member's name and client URLs when the registry
   * lacks them, and (on the leader) promote learners that were added as voters once they are in
   * sync and settle the requests of members promoted or removed.
   */
  reconcile(): void {
    this.#reconcilePeers();
    this.#publishSelf();
    this.#promoteRequestedVoters();
  }

  async #changeAsLeader(request: MembershipRequest): Promise<MembershipAnswer> {
    const members = this.list();
    if (request.kind === 'add') return this.#add(members, request);
    const target = members.find((member) => member.id === request.id);
    if (target === undefined) throw memberNotFound();
    if (request.kind === 'update') {
      this.#refuseTakenUrls(members, request.peerUrls, target.replicationId);
      await this.#writeRegistry({
        kind: 'member-put',
        member: { ...stripListing(target), peerUrls: request.peerUrls },
      });
      return { members: this.list() };
    }
    if (request.kind === 'promote') {
      // A member added as a voter is listed as one, so it is refused here as etcd refuses a
      // voter: its promotion is the leader's (see `#promoteRequestedVoters`).
      if (!target.isLearner) throw memberNotLearner();
      await this.#proposeChange({ kind: 'promote', member: target.replicationId });
      return { members: this.list() };
    }
    // Retired before the change, so that even a leader that removes itself (and steps down once
    // the removal commits) has recorded it: the id never comes back, since the others remember
    // its storage. Retiring a member that then stays (the change is refused) changes nothing.
    await this.#writeRegistry({
      kind: 'member-forget',
      replicationId: target.replicationId,
      id: target.id,
    });
    await this.#proposeChange({ kind: 'remove', member: target.replicationId });
    const after = this.list().filter((member) => member.replicationId !== target.replicationId);
    return { members: after };
  }

  async #add(
    members: ListedMember[],
    request: Extract<MembershipRequest, { kind: 'add' }>,
  ): Promise<MembershipAnswer> {
    this.#refuseTakenUrls(members, request.peerUrls, undefined);
    // Counted as etcd counts them: a member added as a voter and not yet promoted is listed as a
    // voter, so it does not count.
    const learners = members.filter((member) => member.isLearner).length;
    if (request.isLearner && learners >= MAX_LEARNERS) throw tooManyLearners();
    // A fresh id for every add (the new member learns it by asking a member, see
    // cluster-inquiry.ts), so that peer URLs whose member was removed can be used again while
    // the removed id stays retired.
    const id = this.#freshMemberId(request.peerUrls);
    if (members.some((member) => member.id === id)) throw memberIdExists();
    const replicationId = BigInt(id).toString(16);
    const added: RegisteredMember = {
      replicationId,
      id,
      name: '',
      peerUrls: request.peerUrls,
      clientUrls: [],
    };
    // Described first, so every member that applies the configuration entry can reach it. A
    // description whose configuration change is then refused describes nobody (never listed).
    await this.#writeRegistry({ kind: 'member-put', member: added });
    if (!request.isLearner) {
      // kv-node adds every member as a learner first, so that a member that never starts cannot
      // cost the cluster its quorum (etcd would count it as a voter at once). The request to make
      // it a voter is replicated before it is a member, so whichever member leads once it is in
      // sync promotes it, after any leader change or restart. A request whose configuration
      // change is then refused names nobody and is never acted on.
      await this.#writeRegistry({ kind: 'member-voter-request', replicationId, requested: true });
    }
    await this.#proposeChange({ kind: 'add-learner', member: replicationId });
    const listed = this.list();
    return {
      member: listed.find((member) => member.replicationId === replicationId) ?? {
        ...added,
        isLearner: request.isLearner,
      },
      members: listed,
    };
  }

  #freshMemberId(peerUrls: string[]): string {
    const { registry } = this.#options.directory;
    const applied = this.#options.node.appliedThrough;
    // Only a 64-bit hash collision with a removed id takes a second try.
    for (let salt = applied; salt < applied + MAX_ID_TRIES; salt++) {
      const id = addedMemberIdOf(peerUrls, this.#options.clusterToken, salt);
      if (!registry.wasRemoved(id) && id !== '0') return id;
    }
    // etcd answers a colliding id so too (its `ErrIDExists`).
    throw memberIdExists();
  }

  /**
   * Whether `replicationId` names a member this cluster removed (and that is not a member now):
   * what an inquiry tells a process that asks under that id, so that a removed member restarted
   * with its old data directory stops instead of waiting for peers that refuse it.
   */
  wasRemoved(replicationId: string): boolean {
    const { voters, learners } = this.#options.node.configuration;
    if (voters.includes(replicationId) || learners.includes(replicationId)) return false;
    const { registry, initialMembers } = this.#options.directory;
    const id =
      registry.get(replicationId)?.id ??
      initialMembers.find((member) => member.name === replicationId)?.id;
    return id !== undefined && registry.wasRemoved(id);
  }

  #refuseTakenUrls(
    members: ListedMember[],
    peerUrls: string[],
    exceptReplicationId: string | undefined,
  ): void {
    const taken = new Set(
      members
        .filter((member) => member.replicationId !== exceptReplicationId)
        .flatMap((member) => member.peerUrls),
    );
    if (peerUrls.some((url) => taken.has(url))) throw peerUrlExists();
    if (new Set(peerUrls).size !== peerUrls.length) throw memberBadUrls();
  }

  async #proposeChange(change: ConfigurationChange): Promise<void> {
    try {
      await this.#options.node.proposeConfigurationChange(change);
    } catch (error) {
      throw membershipApiError(error);
    }
  }

  async #writeRegistry(command: MemberRegistryCommand): Promise<void> {
    await this.#options.propose(encodeCommand({ type: 'maintenance', request: command }));
  }

  async #forward(forwarded: ForwardedRequest): Promise<MembershipAnswer> {
    const leader = this.#options.node.leaderId;
    if (leader === undefined) throw unavailable('etcdserver: no leader', 'no_leader');
    let reply: { payload: Uint8Array };
    try {
      reply = await this.#options.transport.request(
        leader,
        MEMBERSHIP_REQUEST_TYPE,
        Buffer.from(JSON.stringify(forwarded), 'utf8'),
        { timeoutMs: this.#options.forwardTimeoutMs },
      );
    } catch (error) {
      throw new ApiError(
        `etcdserver: request timed out or the leader was lost (${(error as Error).message}); ` +
          'the membership change may or may not have been made: list the members',
        {
          reason: 'indeterminate',
          status: 504,
          grpcCode: 4,
          definite: false,
        },
      );
    }
    const answer = JSON.parse(Buffer.from(reply.payload).toString('utf8')) as ForwardedAnswer;
    if ('answer' in answer) return answer.answer;
    if ('published' in answer) return { members: this.list() };
    // A refusal, or an answer this member cannot read: never taken for a change made.
    throw apiErrorOfRefusal(answer);
  }

  #reconcilePeers(): void {
    const { transport, directory } = this.#options;
    const configuration = this.#options.node.configuration;
    const wanted = new Map<string, string | undefined>();
    for (const replicationId of [...configuration.voters, ...configuration.learners]) {
      if (replicationId === directory.self.replicationId) continue;
      wanted.set(replicationId, dialUrlOf(directory, replicationId));
    }
    const current = new Set(transport.peerIds);
    for (const [peer, url] of wanted) {
      const address = url === undefined ? undefined : addressOf(url);
      if (!current.has(peer)) {
        this.#options.logger.info({ peer, url }, 'member added: now a transport peer');
        transport.addPeer(peer, address);
        this.#dialedUrls.set(peer, url);
      } else if (address !== undefined && this.#dialedUrls.get(peer) !== url) {
        // Only when it moved (`member update`): setting an address redials a peer that is down
        // at once, which would defeat the transport's reconnect backoff every round.
        transport.setPeerAddress(peer, address);
        this.#dialedUrls.set(peer, url);
      }
    }
    // Until this member holds a configuration from the cluster (a joining member starts with a
    // guess), it keeps every peer it was started with.
    if (this.#options.node.configurationIndex === 0 && !this.#configurationFromSnapshot()) return;
    const now = this.#options.now();
    for (const peer of current) {
      if (wanted.has(peer)) {
        this.#leftAt.delete(peer);
        continue;
      }
      const leftAt = this.#leftAt.get(peer) ?? now;
      this.#leftAt.set(peer, leftAt);
      if (now - leftAt < this.#options.removalGraceMs) continue;
      this.#leftAt.delete(peer);
      this.#dialedUrls.delete(peer);
      this.#options.logger.info({ peer }, 'member removed: no longer a transport peer');
      transport.removePeer(peer);
    }
  }

  #configurationFromSnapshot(): boolean {
    // A configuration restored from a snapshot has no entry index here, but it lists this member
    // under the id the cluster gave it.
    const configuration = this.#options.node.configuration;
    const self = this.#options.directory.self.replicationId;
    return (
      this.#options.directory.registry.get(self) !== undefined &&
      [...configuration.voters, ...configuration.learners].includes(self)
    );
  }

  #publishSelf(): void {
    if (this.#publishing) return;
    const { directory, node } = this.#options;
    const self = directory.self.replicationId;
    const configuration = node.configuration;
    if (![...configuration.voters, ...configuration.learners].includes(self)) return;
    if (node.leaderId === undefined) return;
    const registered = directory.registry.get(self);
    const described = registered ?? describeMember(directory, self);
    const wanted: RegisteredMember = {
      ...described,
      name: this.#options.name,
      clientUrls: [...directory.self.clientUrls],
    };
    if (
      registered !== undefined &&
      registered.name === wanted.name &&
      registered.clientUrls.join(',') === wanted.clientUrls.join(',')
    ) {
      return;
    }
    if (wanted.peerUrls.length === 0) return;
    this.#publishing = true;
    const published =
      node.role === 'leader'
        ? this.#publishAsLeader(wanted)
        : this.#forward({ publish: wanted }).then(() => true);
    void published
      .then(() => this.#options.logger.info({ name: wanted.name }, 'published member attributes'))
      .catch((error: unknown) =>
        this.#options.logger.debug({ err: error }, 'publishing member attributes: will retry'),
      )
      .finally(() => {
        this.#publishing = false;
      });
  }

  async #publishAsLeader(member: RegisteredMember): Promise<boolean> {
    // Only the attributes a member owns: the peer URLs stay whatever the cluster recorded.
    const current = describeMember(this.#options.directory, member.replicationId);
    await this.#writeRegistry({
      kind: 'member-put',
      member: { ...current, name: member.name, clientUrls: member.clientUrls },
    });
    return true;
  }

  /**
   * On the leader: promotes a learner the registry says was added as a voter, with the same rule
   * as `member promote` (refused until it is in sync: tried again next round). One change at a
   * time, as any other.
   */
  #promoteRequestedVoters(): void {
    if (this.#options.node.role !== 'leader') return;
    this.#settleVoterRequests();
    if (this.#changing) return;
    const learners = this.#options.node.configuration.learners;
    const next = this.#options.directory.registry
      .voterRequests()
      .find((replicationId) => learners.includes(replicationId));
    if (next === undefined) return;
    void this.#oneAtATime(() =>
      this.#options.node.proposeConfigurationChange({ kind: 'promote', member: next }),
    )
      .then(() =>
        this.#options.logger.info(
          { member: next },
          'member added as a voter: promoted once in sync',
        ),
      )
      .catch(() => undefined);
  }

  /**
   * On the leader: drops the request of a member that is a voter now or was removed. Not one of
   * the one-at-a-time changes (it changes no configuration, and would refuse a user's change
   * for a round trip): safe beside one in flight, because the promotion or removal it follows
   * is earlier in the same log, so the write never applies without it.
   */
  #settleVoterRequests(): void {
    if (this.#settling) return;
    const { voters, learners } = this.#options.node.configuration;
    const settled = this.#options.directory.registry
      .voterRequests()
      .find(
        (replicationId) =>
          voters.includes(replicationId) ||
          (!learners.includes(replicationId) && this.#wasRetired(replicationId)),
      );
    if (settled === undefined) return;
    this.#settling = true;
    this.#writeRegistry({ kind: 'member-voter-request', replicationId: settled, requested: false })
      .catch((error: unknown) =>
        this.#options.logger.debug({ err: error }, 'settling a voter request: will retry'),
      )
      .finally(() => {
        this.#settling = false;
      });
  }

  /** Whether the member with this replication id had its etcd id retired by a removal. */
  #wasRetired(replicationId: string): boolean {
    const id = this.#options.directory.registry.get(replicationId)?.id;
    return id !== undefined && this.#options.directory.registry.wasRemoved(id);
  }
}

interface ForwardedRequest {
  request?: MembershipRequest;
  publish?: RegisteredMember;
}

/** The leader's answer: the change's, a publication's, or a refusal (no HTTP status in it). */
type ForwardedAnswer =
  { answer: MembershipAnswer } | { published: boolean } | MembershipRefusalAnswer;

function stripListing(member: ListedMember): RegisteredMember {
  return {
    replicationId: member.replicationId,
    id: member.id,
    name: member.name,
    peerUrls: member.peerUrls,
    clientUrls: member.clientUrls,
  };
}
