import { describe, expect, it } from 'vitest';
import { MemberRegistry } from '../store/member-registry.js';
import { memberIdOf } from '../config/member-id.js';
import { transportPeersAtStart } from './start-replica.js';

const initialMembers = ['n1', 'n2', 'n3'].map((name, position) => {
  const peerUrls = [`http://127.0.0.1:${7001 + position}`];
  return { name, id: memberIdOf(peerUrls, 'token'), peerUrls };
});

function directoryOf(voters: string[], learners: string[], self: string, registry: MemberRegistry) {
  return {
    configuration: () => ({ voters, learners }),
    registry,
    initialMembers,
    self: { replicationId: self, clientUrls: [] },
  };
}

describe('transportPeersAtStart', () => {
  it('names each peer of a restarted added member by the id it replicates under, nothing else', () => {
    // n3 was removed; "5fd6" and "ab12" (this member) were added and are known by their ids.
    const registry = new MemberRegistry();
    for (const [replicationId, port] of [
      ['5fd6', 7005],
      ['ab12', 7006],
    ] as const) {
      registry.apply({
        kind: 'member-put',
        member: {
          replicationId,
          id: BigInt(`0x${replicationId}`).toString(10),
          name: `m-${replicationId}`,
          peerUrls: [`http://127.0.0.1:${port}`],
          clientUrls: [],
        },
      });
    }
    const peers = transportPeersAtStart(
      directoryOf(['n1', 'n2', '5fd6'], ['ab12'], 'ab12', registry),
      undefined,
    );
    expect(peers).toEqual({
      n1: { host: '127.0.0.1', port: 7001 },
      n2: { host: '127.0.0.1', port: 7002 },
      '5fd6': { host: '127.0.0.1', port: 7005 },
    });
  });

  it('dials a joining member’s peers where the member that answered its inquiry said', () => {
    const registry = new MemberRegistry();
    const joined = [
      { replicationId: 'n1', id: '1', name: 'n1', peerUrls: ['http://127.0.0.1:7001'] },
      { replicationId: '5fd6', id: '24534', name: 'm', peerUrls: ['http://127.0.0.1:7005'] },
    ].map((member) => ({ ...member, isLearner: false }));
    const peers = transportPeersAtStart(
      directoryOf(['n1', '5fd6'], ['ab12'], 'ab12', registry),
      joined,
    );
    expect(peers).toEqual({
      n1: { host: '127.0.0.1', port: 7001 },
      '5fd6': { host: '127.0.0.1', port: 7005 },
    });
  });

  it('dials an initial member at the first URL this member lists for it', () => {
    const registry = new MemberRegistry();
    const ownOrder = ['http://127.0.0.1:7101', 'http://127.0.0.1:7102'];
    registry.apply({
      kind: 'member-put',
      member: {
        replicationId: 'n2',
        id: '2',
        name: 'n2',
        peerUrls: [...ownOrder].reverse(),
        clientUrls: [],
      },
    });
    const directory = {
      ...directoryOf(['n1', 'n2'], [], 'n1', registry),
      initialMembers: [{ name: 'n2', id: '2', peerUrls: ownOrder }],
    };
    expect(transportPeersAtStart(directory, undefined)).toEqual({
      n2: { host: '127.0.0.1', port: 7101 },
    });
  });
});
