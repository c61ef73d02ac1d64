import type { NodeId } from './messages.js';

/**
 * Who is in the cluster: the voters (they elect leaders and count toward every quorum) and the
 * learners (they receive the log and snapshots but never vote or count). A member is in at most
 * one of the two; there is at least one voter. It lives in the log as a `configuration` entry and
 * in snapshots; the configuration in force is the latest one in a server's log (see
 * docs/design.md, "Membership changes").
 */
export interface ClusterConfiguration {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** One single-server change: add a learner, promote a learner to voter, or remove a member. */
export interface ConfigurationChange {
  readonly kind: 'add-learner' | 'promote' | 'remove';
  readonly member: NodeId;
}

/** Why a configuration or a change to one is not valid. */
export type ConfigurationProblem =
  | 'no-voter'
  | 'duplicate-member'
  | 'bad-member-id'
  | 'too-many-members'
  | 'already-member'
  | 'not-a-learner'
  | 'not-a-member';

/** Thrown when a configuration, or a change to one, is not valid (see {@link ConfigurationProblem}). */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';

  constructor(
    readonly problem: ConfigurationProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Most members (voters and learners) a configuration may list: it must fit in any message. */
export const MAX_CONFIGURATION_MEMBERS = 64;
/** Longest member id in a configuration, in UTF-8 bytes. */
export const MAX_MEMBER_ID_BYTES = 255;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });
/** First byte of an encoded configuration: the format's version. */
const CONFIGURATION_FORMAT = 1;

/**
 * Checks a configuration and returns a frozen copy.
 * @throws ConfigurationError when it has no voter, lists a member twice (in either set), has an
 *   empty or over-long member id, or more than {@link MAX_CONFIGURATION_MEMBERS} members.
 */
export function clusterConfiguration(
  voters: readonly NodeId[],
  learners: readonly NodeId[] = [],
): ClusterConfiguration {
  if (voters.length === 0)
    throw new ConfigurationError('no-voter', 'a configuration needs a voter');
  if (voters.length + learners.length > MAX_CONFIGURATION_MEMBERS) {
    throw new ConfigurationError(
      'too-many-members',
      `${voters.length + learners.length} members exceed ${MAX_CONFIGURATION_MEMBERS}`,
    );
  }
  const seen = new Set<NodeId>();
  for (const member of [...voters, ...learners]) {
    const bytes = utf8.encode(member).length;
    if (bytes === 0 || bytes > MAX_MEMBER_ID_BYTES) {
      throw new ConfigurationError('bad-member-id', `member id of ${bytes} bytes`);
    }
    if (seen.has(member)) {
      throw new ConfigurationError('duplicate-member', `member ${member} is listed twice`);
    }
    seen.add(member);
  }
  return Object.freeze({
    voters: Object.freeze([...voters]),
    learners: Object.freeze([...learners]),
  });
}

/** Whether `member` is a voter of `configuration`. */
export function isVoter(configuration: ClusterConfiguration, member: NodeId): boolean {
  return configuration.voters.includes(member);
}

/** Whether `member` is a voter or a learner of `configuration`. */
export function isMember(configuration: ClusterConfiguration, member: NodeId): boolean {
  return isVoter(configuration, member) || configuration.learners.includes(member);
}

/**
 * The configuration after one change.
 * @throws ConfigurationError when the change does not apply (`already-member` for adding a member,
 *   `not-a-learner` for promoting a voter or a stranger, `not-a-member` for removing a stranger,
 *   `no-voter` for removing the last voter).
 */
export function changedConfiguration(
  configuration: ClusterConfiguration,
  change: ConfigurationChange,
): ClusterConfiguration {
  const { voters, learners } = configuration;
  const member = change.member;
  switch (change.kind) {
    case 'add-learner':
      if (isMember(configuration, member)) {
        throw new ConfigurationError('already-member', `${member} is already a member`);
      }
      return clusterConfiguration(voters, [...learners, member]);
    case 'promote':
      if (!learners.includes(member)) {
        throw new ConfigurationError('not-a-learner', `${member} is not a learner`);
      }
      return clusterConfiguration(
        [...voters, member],
        learners.filter((learner) => learner !== member),
      );
    case 'remove':
      if (!isMember(configuration, member)) {
        throw new ConfigurationError('not-a-member', `${member} is not a member`);
      }
      return clusterConfiguration(
        voters.filter((voter) => voter !== member),
        learners.filter((learner) => learner !== member),
      );
  }
}

/**
 * Encodes a configuration as a `configuration` entry's bytes: a format byte, the voter and learner
 * counts (one byte each), then each id as one length byte and its UTF-8 bytes.
 */
export function encodeConfiguration(configuration: ClusterConfiguration): Uint8Array {
  const ids = [...configuration.voters, ...configuration.learners].map((id) => utf8.encode(id));
  let size = 3;
  for (const id of ids) size += 1 + id.length;
  const bytes = new Uint8Array(size);
  bytes[0] = CONFIGURATION_FORMAT;
  bytes[1] = configuration.voters.length;
  bytes[2] = configuration.learners.length;
  let offset = 3;
  for (const id of ids) {
    bytes[offset] = id.length;
    bytes.set(id, offset + 1);
    offset += 1 + id.length;
  }
  return bytes;
}

/**
 * Decodes bytes written by {@link encodeConfiguration}, bounded: at most
 * {@link MAX_CONFIGURATION_MEMBERS} members, every read checked against the length.
 * @throws ConfigurationError (`bad-member-id`, `too-many-members`, ...) when the bytes are not a
 *   valid configuration.
 */
export function decodeConfiguration(bytes: Uint8Array): ClusterConfiguration {
  const malformed = (why: string): ConfigurationError =>
    new ConfigurationError('bad-member-id', `malformed configuration: ${why}`);
  if (bytes.length < 3) throw malformed('truncated header');
  if (bytes[0] !== CONFIGURATION_FORMAT) throw malformed(`unknown format ${bytes[0]}`);
  const voterCount = bytes[1] ?? 0;
  const learnerCount = bytes[2] ?? 0;
  if (voterCount + learnerCount > MAX_CONFIGURATION_MEMBERS) {
    throw new ConfigurationError('too-many-members', `${voterCount + learnerCount} members`);
  }
  const ids: NodeId[] = [];
  let offset = 3;
  for (let i = 0; i < voterCount + learnerCount; i++) {
    const length = bytes[offset];
    if (length === undefined || offset + 1 + length > bytes.length) throw malformed('truncated id');
    try {
      ids.push(fromUtf8.decode(bytes.subarray(offset + 1, offset + 1 + length)));
    } catch {
      throw malformed('member id is not valid UTF-8');
    }
    offset += 1 + length;
  }
  if (offset !== bytes.length) throw malformed(`${bytes.length - offset} trailing bytes`);
  return clusterConfiguration(ids.slice(0, voterCount), ids.slice(voterCount));
}

/** Whether two configurations list the same voters and learners (order aside). */
export function sameConfiguration(a: ClusterConfiguration, b: ClusterConfiguration): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]): boolean =>
    x.length === y.length && x.every((member) => y.includes(member));
  return same(a.voters, b.voters) && same(a.learners, b.learners);
}
