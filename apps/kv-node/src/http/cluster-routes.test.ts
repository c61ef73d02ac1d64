import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.js';
import { decodeMemberChange } from './cluster-routes.js';

/** The error a decoding throws, for its message and field. */
function refusal(decode: () => unknown): { message: string; field: string | undefined } {
  try {
    decode();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return { message: (error as ApiError).message, field: (error as ApiError).details.field };
  }
  throw new Error('decoded without an error');
}

describe('decodeMemberChange (from etcd protos, with the checks they cannot express)', () => {
  it('reads an add under its proto names, URLs normalized to their origin', () => {
    expect(
      decodeMemberChange('add', { peerURLs: ['http://127.0.0.1:2380/'], isLearner: true }),
    ).toEqual({ kind: 'add', peerUrls: ['http://127.0.0.1:2380'], isLearner: true });
    expect(decodeMemberChange('add', { peerURLs: ['https://[::1]:2380'] })).toEqual({
      kind: 'add',
      peerUrls: ['https://[::1]:2380'],
      isLearner: false,
    });
  });

  it('refuses peer URLs etcd refuses, fields of the wrong type, and fields the message lacks', () => {
    for (const peerURLs of [[], ['http://127.0.0.1'], ['unix:///tmp/peer'], ['http://h:1/path']]) {
      expect(refusal(() => decodeMemberChange('add', { peerURLs }))).toEqual({
        message: 'etcdserver: given member URLs are invalid',
        field: 'peerURLs',
      });
    }
    expect(
      refusal(() => decodeMemberChange('add', { peerURLs: ['http://h:1'], isLearner: 'yes' })),
    ).toEqual({ message: 'isLearner must be a boolean', field: 'isLearner' });
    expect(refusal(() => decodeMemberChange('add', { peerURLs: ['http://h:1'], ID: '1' }))).toEqual(
      { message: 'unknown field "ID"', field: 'ID' },
    );
    expect(refusal(() => decodeMemberChange('remove', { ID: '1', isLearner: true }))).toEqual({
      message: 'unknown field "isLearner"',
      field: 'isLearner',
    });
  });

  it('reads a member id as an unsigned 64-bit integer that must be given', () => {
    expect(decodeMemberChange('remove', { ID: '18446744073709551615' })).toEqual({
      kind: 'remove',
      id: '18446744073709551615',
    });
    expect(decodeMemberChange('promote', { ID: 42 })).toEqual({ kind: 'promote', id: '42' });
    expect(decodeMemberChange('update', { ID: '7', peerURLs: ['http://h:2'] })).toEqual({
      kind: 'update',
      id: '7',
      peerUrls: ['http://h:2'],
    });
    for (const body of [
      {},
      { ID: null },
      { ID: '18446744073709551616' },
      { ID: '-1' },
      { ID: 'x' },
    ]) {
      expect(refusal(() => decodeMemberChange('remove', body))).toEqual({
        message: 'ID must be an unsigned 64-bit integer',
        field: 'ID',
      });
    }
  });
});
