import { describe, expect, it } from 'vitest';
import {
  decodeInquiryAnswer,
  encodeInquiryAnswer,
  inquiryAnswerOf,
  memberWithPeerUrls,
} from './cluster-inquiry.js';

const member = {
  replicationId: '1092',
  id: '4242',
  name: '',
  peerUrls: ['http://127.0.0.1:2391', 'http://127.0.0.1:2390'],
  clientUrls: ['http://127.0.0.1:2379'],
  isLearner: true,
};

const bytes = (value: unknown): Uint8Array => new Uint8Array(Buffer.from(JSON.stringify(value)));

describe('the answer to an inquiry', () => {
  it('round-trips the cluster id and the members, without their client URLs', () => {
    const answer = decodeInquiryAnswer(encodeInquiryAnswer(inquiryAnswerOf('77', [member], false)));
    expect(answer).toEqual({
      clusterId: '77',
      members: [
        {
          replicationId: '1092',
          id: '4242',
          name: '',
          peerUrls: member.peerUrls,
          isLearner: true,
        },
      ],
      inquirerRemoved: false,
    });
    // Found by its peer URLs, in any order and spelling of the same origin.
    expect(
      memberWithPeerUrls(answer, ['http://127.0.0.1:2390/', 'http://127.0.0.1:2391'])?.id,
    ).toBe('4242');
    expect(memberWithPeerUrls(answer, ['http://127.0.0.1:2390'])).toBeUndefined();
  });

  it('refuses a malformed answer', () => {
    const good = inquiryAnswerOf('77', [member], false);
    for (const bad of [
      { ...good, clusterId: 77 },
      { ...good, clusterId: '-1' },
      { ...good, members: 'none' },
      { ...good, inquirerRemoved: 'no' },
      { ...good, members: [{ ...good.members[0], id: 'x' }] },
      { ...good, members: [{ ...good.members[0], replicationId: '' }] },
      { ...good, members: [{ ...good.members[0], peerUrls: [1] }] },
    ]) {
      expect(() => decodeInquiryAnswer(bytes(bad)), JSON.stringify(bad)).toThrow(/malformed/);
    }
    expect(() => decodeInquiryAnswer(new Uint8Array(Buffer.from('{')))).toThrow(SyntaxError);
  });
});
