import { ConfigurationChangeRefusedError, NotLeaderError } from '@x/leader-follower';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../http/api-error.js';
import { membershipApiError } from './member-errors.js';
import { parsePeerUrls } from './membership-service.js';

function answerFor(reason: ConstructorParameters<typeof ConfigurationChangeRefusedError>[0]) {
  const error = membershipApiError(
    new ConfigurationChangeRefusedError(reason, `etcdserver: ${reason}`),
  );
  if (!(error instanceof ApiError)) throw new Error(`not an ApiError: ${String(error)}`);
  return [error.details.status, error.details.grpcCode, error.message, error.details.definite];
}

describe('membership errors in etcd’s words', () => {
  it('maps each refusal of the core to etcd’s error, all definite', () => {
    expect(answerFor('learner-not-caught-up')).toEqual([
      412,
      9,
      'etcdserver: can only promote a learner member which is in sync with leader',
      true,
    ]);
    expect(answerFor('not-enough-started-members')).toEqual([
      412,
      9,
      'etcdserver: re-configuration failed due to not enough started members',
      true,
    ]);
    expect(answerFor('not-a-learner')).toEqual([
      412,
      9,
      'etcdserver: can only promote a learner member',
      true,
    ]);
    expect(answerFor('not-a-member')).toEqual([404, 5, 'etcdserver: member not found', true]);
    expect(answerFor('already-member')).toEqual([
      412,
      9,
      'etcdserver: member ID already exist',
      true,
    ]);
    const [status, code, message, definite] = answerFor('change-in-flight');
    expect([status, code, definite]).toEqual([503, 14, true]);
    expect(message).toBe('etcdserver: unhealthy cluster');
  });

  it('maps the node’s other errors as every write’s', () => {
    const error = membershipApiError(new NotLeaderError(undefined));
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).details.reason).toBe('no_leader');
  });

  it('accepts http(s)://host:port peer URLs only, as etcd does', () => {
    expect(parsePeerUrls(['http://127.0.0.1:2380', 'https://[::1]:2390/'])).toEqual([
      'http://127.0.0.1:2380',
      'https://[::1]:2390',
    ]);
    for (const bad of [
      undefined,
      [],
      ['127.0.0.1:2380'],
      ['http://127.0.0.1'],
      ['http://127.0.0.1:2380/path'],
      ['http://127.0.0.1:2380?x=1'],
      ['unix:///tmp/s'],
      [42],
    ]) {
      expect(() => parsePeerUrls(bad), JSON.stringify(bad)).toThrow(
        'etcdserver: given member URLs are invalid',
      );
    }
  });
});
