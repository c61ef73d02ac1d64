/**
 * How a member started with `--initial-cluster-state existing` and an empty data directory
 * learns the cluster it was added to: it asks the members `--initial-cluster` names, over their
 * peer ports, proving the peer secret as a peer does (`@x/transport-tcp`'s inquiry), and finds
 * itself in the answer by its advertised peer URLs, as etcd's joiner does with the member list
 * it fetches from its peers. The answer gives the cluster id and the id `member add` gave this
 * member (fresh for every add, so it cannot be computed here).
 */

import { inquire } from '@x/transport-tcp';
import type { TlsOptions } from '@x/transport-tcp';
import {
  decodeInquiryAnswer,
  MAX_INQUIRY_ANSWER_BYTES,
  memberWithPeerUrls,
} from '../membership/cluster-inquiry.js';
import type { ClusterInquiryAnswer, InquiredMember } from '../membership/cluster-inquiry.js';
import type { Logger } from '../logging/logger.js';

/** What a joining member learned. */
export interface LearnedCluster {
  /** The cluster's id (decimal). */
  clusterId: string;
  /** This member, as `member add` recorded it. */
  self: InquiredMember;
  /** Every member in force, this one included. */
  members: InquiredMember[];
}

/** Options of {@link learnClusterToJoin}. Durations are in milliseconds. */
export interface JoinInquiryOptions {
  /** The members to ask (`--initial-cluster` less this member). */
  peers: readonly { name: string; peerUrls: readonly string[] }[];
  /** This member's advertised peer URLs: how it finds itself in the answer. */
  selfPeerUrls: readonly string[];
  /** This member's `--name`, for the answering member's log. */
  name: string;
  /** The secret an inquirer proves (see `inquirySecretOf`). */
  secret: string;
  tls?: TlsOptions;
  logger: Logger;
  /** How long to keep asking before giving up. */
  giveUpAfterMs: number;
  /** Time allowed for one inquiry. */
  inquiryTimeoutMs: number;
  /** Monotonic milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The joining member cannot learn its cluster; the message says why and what to do. */
export class JoinInquiryError extends Error {
  /** @param message what happened and what to do. */
  constructor(message: string) {
    super(message);
    this.name = 'JoinInquiryError';
  }
}

function addressOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port) };
}

/**
 * Asks the peers, round after round, until one lists this member or `giveUpAfterMs` passed.
 *
 * @throws JoinInquiryError when no peer answered, or the answers do not list this member (it
 *   was not added, or was added with other peer URLs)
 */
export async function learnClusterToJoin(options: JoinInquiryOptions): Promise<LearnedCluster> {
  const deadline = options.now() + options.giveUpAfterMs;
  const failures = new Map<string, string>();
  let answered: ClusterInquiryAnswer | undefined;
  for (;;) {
    for (const peer of options.peers) {
      const url = peer.peerUrls[0];
      if (url === undefined) continue;
      let answer: ClusterInquiryAnswer;
      try {
        answer = decodeInquiryAnswer(
          await inquire({
            address: addressOf(url),
            secret: options.secret,
            inquirerId: options.name,
            ...(options.tls === undefined ? {} : { tls: options.tls }),
            timeoutMs: options.inquiryTimeoutMs,
            maxAnswerBytes: MAX_INQUIRY_ANSWER_BYTES,
          }),
        );
      } catch (error) {
        failures.set(url, (error as Error).message);
        continue;
      }
      answered = answer;
      const self = memberWithPeerUrls(answer, options.selfPeerUrls);
      if (self !== undefined) {
        options.logger.info(
          { peer: peer.name, clusterId: answer.clusterId, memberId: self.id },
          'learned the cluster to join from a member',
        );
        return { clusterId: answer.clusterId, self, members: answer.members };
      }
      failures.set(url, 'its members do not list this member');
    }
    if (options.now() >= deadline) break;
    await options.sleep(Math.min(500, Math.max(0, deadline - options.now())));
  }
  if (answered !== undefined) {
    throw new JoinInquiryError(
      `no member lists one with peer URLs ${options.selfPeerUrls.join(',')}: add this member ` +
        'first (`etcdctl member add NAME --peer-urls=...` or POST /v3/cluster/member/add) with ' +
        'exactly these peer URLs (--initial-advertise-peer-urls), then start it again',
    );
  }
  throw new JoinInquiryError(
    'could not learn the cluster to join from any member of --initial-cluster (' +
      [...failures].map(([url, reason]) => `${url}: ${reason}`).join('; ') +
      '); check --initial-cluster, the peer secret (--peer-secret-file) and the peer TLS files',
  );
}

/**
 * Asks the peers, once each until one answers, whether the cluster removed the member with this
 * replication id. Resolves false when none answers (the cluster may be starting): a removed
 * member is refused by its peers anyway; this only makes it stop with a clear message.
 */
export async function askWhetherRemoved(options: {
  peers: readonly { host: string; port: number }[];
  replicationId: string;
  secret: string;
  tls?: TlsOptions;
  inquiryTimeoutMs: number;
}): Promise<boolean> {
  for (const address of options.peers) {
    try {
      const answer = decodeInquiryAnswer(
        await inquire({
          address,
          secret: options.secret,
          inquirerId: options.replicationId,
          ...(options.tls === undefined ? {} : { tls: options.tls }),
          timeoutMs: options.inquiryTimeoutMs,
          maxAnswerBytes: MAX_INQUIRY_ANSWER_BYTES,
        }),
      );
      return answer.inquirerRemoved;
    } catch {
      continue;
    }
  }
  return false;
}
