import { TcpTransport } from '@x/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeInquiryAnswer, inquiryAnswerOf } from '../membership/cluster-inquiry.js';
import type { ListedMember } from '../membership/member-directory.js';
import { askWhetherRemoved, JoinInquiryError, learnClusterToJoin } from './join-cluster.js';

const SECRET = 'a-peer-secret-of-this-test';
const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

const joinerUrl = 'http://127.0.0.1:2390';
const members: ListedMember[] = [
  {
    replicationId: 'n1',
    id: '1001',
    name: 'n1',
    peerUrls: ['http://127.0.0.1:2380'],
    clientUrls: [],
    isLearner: false,
  },
  {
    replicationId: (4242).toString(16),
    id: '4242',
    name: '',
    peerUrls: [joinerUrl],
    clientUrls: [],
    isLearner: true,
  },
];

let transports: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.map((transport) => transport.close()));
  transports = [];
});

/** A member's peer transport answering inquiries as kv-node does. */
async function member(listed: ListedMember[], removed: string[] = []): Promise<string> {
  const transport = await TcpTransport.start({
    nodeId: 'n1',
    clusterId: '77',
    secret: SECRET,
    peers: {},
    answerInquiry: (inquirer) =>
      encodeInquiryAnswer(inquiryAnswerOf('77', listed, removed.includes(inquirer))),
  });
  transports.push(transport);
  return `http://127.0.0.1:${transport.address.port}`;
}

function options(peerUrls: string[], selfPeerUrls: string[], secret = SECRET) {
  return {
    peers: peerUrls.map((url, index) => ({ name: `p${index}`, peerUrls: [url] })),
    selfPeerUrls,
    name: 'n2',
    secret,
    logger: silent,
    giveUpAfterMs: 0,
    inquiryTimeoutMs: 2000,
    now: () => 0,
    sleep: () => Promise.resolve(),
  };
}

describe('learning the cluster to join', () => {
  it('finds this member by its peer URLs in a member’s answer, past a peer that does not answer', async () => {
    const answering = await member(members);
    const learned = await learnClusterToJoin(
      options(['http://127.0.0.1:1', answering], [`${joinerUrl}/`]),
    );
    expect(learned.clusterId).toBe('77');
    expect(learned.self).toMatchObject({ id: '4242', replicationId: '1092', isLearner: true });
    expect(learned.members).toHaveLength(2);
  });

  it('says to add the member first when the members do not list it', async () => {
    const answering = await member(members);
    await expect(
      learnClusterToJoin(options([answering], ['http://127.0.0.1:2399'])),
    ).rejects.toThrow(
      /no member lists one with peer URLs http:\/\/127\.0\.0\.1:2399: add this member first/,
    );
  });

  it('learns nothing without the peer secret, and says what to check', async () => {
    const answering = await member(members);
    const failure = await learnClusterToJoin(
      options([answering], [joinerUrl], 'not-the-secret-at-all'),
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(JoinInquiryError);
    expect((failure as Error).message).toMatch(/could not learn the cluster.*--peer-secret-file/);
  });

  it('tells a removed member, by its replication id, that it was removed', async () => {
    const url = new URL(await member(members, ['n3']));
    const peers = [{ host: url.hostname, port: Number(url.port) }];
    const ask = (replicationId: string) =>
      askWhetherRemoved({ peers, replicationId, secret: SECRET, inquiryTimeoutMs: 2000 });
    expect(await ask('n3')).toBe(true);
    expect(await ask('n1')).toBe(false);
    // Nobody answering is no verdict.
    expect(
      await askWhetherRemoved({
        peers: [{ host: '127.0.0.1', port: 1 }],
        replicationId: 'n3',
        secret: SECRET,
        inquiryTimeoutMs: 2000,
      }),
    ).toBe(false);
  });
});
