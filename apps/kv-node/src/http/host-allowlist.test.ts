import { describe, expect, it } from 'vitest';
import { HostAllowlist, LOOPBACK_HOSTS, canonicalHost } from './host-allowlist.js';

describe('canonicalHost', () => {
  it('drops the port, the case and a trailing dot; keeps IPv6 in brackets, shortest form', () => {
    expect(canonicalHost('Example.COM:2379')).toBe('example.com');
    expect(canonicalHost('localhost.')).toBe('localhost');
    expect(canonicalHost('localhost.:80')).toBe('localhost');
    expect(canonicalHost('[::1]:2379')).toBe('[::1]');
    expect(canonicalHost('[0:0:0:0:0:0:0:1]')).toBe('[::1]');
    expect(canonicalHost('[FE80::AB]')).toBe('[fe80::ab]');
    expect(canonicalHost('127.0.0.1:1')).toBe('127.0.0.1');
  });

  it('reads IPv4 spelled otherwise as browsers do', () => {
    expect(canonicalHost('127.1')).toBe('127.0.0.1');
    expect(canonicalHost('0x7f.0.0.1')).toBe('127.0.0.1');
  });

  it('names no host for values that are not a host and port', () => {
    for (const value of [
      '',
      'a@b',
      'evil.example/x',
      'a b',
      'evil.example?x',
      '[::1',
      ':80',
      'a:b:c',
    ]) {
      expect(canonicalHost(value), value).toBeUndefined();
    }
  });
});

describe('HostAllowlist', () => {
  it('allows only loopback names by default, with any port', () => {
    const hosts = HostAllowlist.loopback();
    for (const host of [
      'localhost',
      'LOCALHOST:2379',
      'localhost.',
      '127.0.0.1:80',
      '[::1]:2379',
      '[::1]',
    ]) {
      expect(hosts.allows(host), host).toBe(true);
    }
    for (const host of [
      'evil.example',
      'evil.example:2379',
      'localhost.evil.example',
      '127.0.0.2',
      '[::2]',
      '',
    ]) {
      expect(hosts.allows(host), host).toBe(false);
    }
    expect(hosts.allows(undefined)).toBe(false);
  });

  it("parses etcd's comma-separated syntax; '*' allows every host", () => {
    const hosts = HostAllowlist.parse(' kv.example.com , 10.0.0.5,::1 ');
    expect(hosts.allows('KV.example.com.:443')).toBe(true);
    expect(hosts.allows('10.0.0.5:2379')).toBe(true);
    expect(hosts.allows('[::1]:2379')).toBe(true);
    expect(hosts.allows('localhost')).toBe(false);
    expect(hosts.allowsAny).toBe(false);
    const any = HostAllowlist.parse('a.example,*');
    expect(any.allowsAny).toBe(true);
    expect(any.allows('evil.example')).toBe(true);
    expect(any.allows(undefined)).toBe(true);
  });

  it('refuses an entry that is no host name', () => {
    expect(() => HostAllowlist.parse('good.example,bad/host')).toThrow(/bad\/host/);
  });

  it("allows a member's default: the loopback names and its own URLs' hosts, listed with ports", () => {
    const hosts = HostAllowlist.of([...LOOPBACK_HOSTS, '10.1.2.3:2379', 'kv-1.internal:2379']);
    expect(hosts.allows('10.1.2.3:2379')).toBe(true);
    expect(hosts.allows('kv-1.internal')).toBe(true);
    expect(hosts.allows('localhost:2379')).toBe(true);
    expect(hosts.allows('kv-2.internal')).toBe(false);
  });
});
