import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import { resolveConfig } from './node-config.js';
import { isLoopbackUrl } from './peer-security.js';

function resolve(argv: string[]): unknown {
  const result = resolveConfig({ argv, env: {}, readFile: () => '' });
  return result.kind === 'config' ? result.config : result;
}

function refusal(argv: string[]): ConfigError {
  try {
    resolve(argv);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
}

const loopbackTrio = 'a=http://127.0.0.1:2380,b=http://127.0.0.1:2390,c=http://127.0.0.1:2400';

describe('peer authentication is required off loopback and between members', () => {
  it('knows loopback URLs', () => {
    for (const url of [
      'http://127.0.0.1:1',
      'http://127.9.8.7:1',
      'http://localhost:1',
      'http://[::1]:1',
    ]) {
      expect(isLoopbackUrl(url)).toBe(true);
    }
    for (const url of [
      'http://0.0.0.0:1',
      'http://10.0.0.1:1',
      'http://[::]:1',
      'http://kv-a:2380',
      'http://127.example.com:1',
    ]) {
      expect(isLoopbackUrl(url)).toBe(false);
    }
  });

  it.each([
    [
      'listen',
      [
        '--name',
        'a',
        '--listen-peer-urls',
        'http://0.0.0.0:2380',
        '--initial-advertise-peer-urls',
        'http://127.0.0.1:2380',
      ],
    ],
    [
      'advertised',
      [
        '--name',
        'a',
        '--initial-advertise-peer-urls',
        'http://10.0.0.5:2380',
        '--initial-cluster',
        'a=http://10.0.0.5:2380',
      ],
    ],
    [
      'initial-cluster',
      ['--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:2380,b=http://10.0.0.6:2380'],
    ],
  ])('refuses a non-loopback %s peer URL without a secret file or peer TLS', (_, argv) => {
    const error = refusal(argv);
    expect(error.flag).toBe('peer-secret-file');
    expect(error.message).toMatch(/is not loopback/);
    expect(error.message).toMatch(/--peer-secret-file/);
  });

  it('refuses a loopback cluster of several members without a secret (none is derived)', () => {
    const error = refusal([
      '--name',
      'b',
      '--listen-peer-urls',
      'http://127.0.0.1:2390',
      '--initial-cluster',
      loopbackTrio,
    ]);
    expect(error.flag).toBe('peer-secret-file');
    expect(error.message).toMatch(/never derives one from public data/);
  });

  it('accepts a lone loopback member without a secret, and any member with a secret file or peer TLS', () => {
    expect(resolve(['--name', 'a'])).toMatchObject({ name: 'a' });
    expect(
      resolve([
        '--name',
        'a',
        '--listen-peer-urls',
        'http://0.0.0.0:2380',
        '--initial-advertise-peer-urls',
        'http://10.0.0.5:2380',
        '--initial-cluster',
        'a=http://10.0.0.5:2380,b=http://10.0.0.6:2380',
        '--peer-secret-file',
        's',
      ]),
    ).toMatchObject({ peerSecretFile: 's' });
    expect(
      resolve([
        '--name',
        'a',
        '--listen-peer-urls',
        'https://0.0.0.0:2380',
        '--initial-advertise-peer-urls',
        'https://10.0.0.5:2380',
        '--initial-cluster',
        'a=https://10.0.0.5:2380',
        '--peer-cert-file',
        'c',
        '--peer-key-file',
        'k',
        '--peer-trusted-ca-file',
        'ca',
      ]),
    ).toMatchObject({ peerTls: { certFile: 'c' } });
  });
});
