/**
 * What a member answers on its peer port to a process that knows the peer secret but is not a
 * peer (yet, or any more): the cluster id and the members, as etcd's joining member learns them
 * from its peers (`GET /members` on a peer URL) before it starts. A member added with
 * `member add` learns from it which id the cluster gave it, so it needs neither
 * `--initial-cluster-id` nor an id it could compute; a member restarting with an old data
 * directory learns from it that it was removed.
 */

import type { ListedMember } from './member-directory.js';

/**
 * The largest answer a joining member reads, in bytes: about 300 members. A larger answer fails
 * the inquiry (the bound is the joiner's, so a member cannot make it buffer without limit).
 */
export const MAX_INQUIRY_ANSWER_BYTES = 64 * 1024;

/** One member as an inquiry answers it. */
export interface InquiredMember {
  replicationId: string;
  /** etcd's member id (decimal). */
  id: string;
  name: string;
  peerUrls: string[];
  isLearner: boolean;
}

/** The answer to an inquiry. */
export interface ClusterInquiryAnswer {
  /** The cluster's id (decimal). */
  clusterId: string;
  /** The members in force at the answering member; empty while it is starting. */
  members: InquiredMember[];
  /**
   * Whether the inquirer's id (its replication id) names a member the cluster removed: it must
   * never come back with that id.
   */
  inquirerRemoved: boolean;
}

/** Encodes an answer (JSON). */
export function encodeInquiryAnswer(answer: ClusterInquiryAnswer): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(answer), 'utf8'));
}

/** The answer a member gives, from the members it lists. */
export function inquiryAnswerOf(
  clusterId: string,
  members: readonly ListedMember[],
  inquirerRemoved: boolean,
): ClusterInquiryAnswer {
  return {
    clusterId,
    members: members.map((member) => ({
      replicationId: member.replicationId,
      id: member.id,
      name: member.name,
      peerUrls: [...member.peerUrls],
      isLearner: member.isLearner,
    })),
    inquirerRemoved,
  };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

const DECIMAL_ID = /^[0-9]{1,20}$/;

/** Decodes and checks an answer. @throws Error naming what is malformed. */
export function decodeInquiryAnswer(bytes: Uint8Array): ClusterInquiryAnswer {
  const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ClusterInquiryAnswer>;
  if (typeof parsed.clusterId !== 'string' || !DECIMAL_ID.test(parsed.clusterId)) {
    throw new Error('malformed inquiry answer: clusterId');
  }
  if (!Array.isArray(parsed.members) || typeof parsed.inquirerRemoved !== 'boolean') {
    throw new Error('malformed inquiry answer: members');
  }
  const members = parsed.members.map((member: Partial<InquiredMember>) => {
    if (
      typeof member.replicationId !== 'string' ||
      member.replicationId === '' ||
      typeof member.id !== 'string' ||
      !DECIMAL_ID.test(member.id) ||
      typeof member.name !== 'string' ||
      !isStringArray(member.peerUrls) ||
      typeof member.isLearner !== 'boolean'
    ) {
      throw new Error('malformed inquiry answer: a member');
    }
    return member as InquiredMember;
  });
  return { clusterId: parsed.clusterId, members, inquirerRemoved: parsed.inquirerRemoved };
}

/**
 * The member with exactly these peer URLs (in any order), as etcd's joiner finds itself in the
 * list it fetched: by its advertised peer URLs.
 */
export function memberWithPeerUrls(
  answer: ClusterInquiryAnswer,
  peerUrls: readonly string[],
): InquiredMember | undefined {
  const wanted = urlSet(peerUrls);
  return answer.members.find((member) => urlSet(member.peerUrls) === wanted);
}

function urlSet(urls: readonly string[]): string {
  return urls
    .map((url) => {
      try {
        return new URL(url).origin;
      } catch {
        return url;
      }
    })
    .sort()
    .join(',');
}
