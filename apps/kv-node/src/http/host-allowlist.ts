/**
 * Which `Host` names a server answers (etcd's `--host-whitelist`). Against DNS rebinding: a web
 * page on the attacker's name, once that name resolves to 127.0.0.1, can send requests to a
 * member or the dashboard from the victim's browser, same-origin as far as the browser knows;
 * but the request still says `Host: attacker.example`, which no allowlist names.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { GrpcCode } from './api-error.js';
import { sendBeforeBody } from './early-response.js';

/** The names every loopback client uses: allowed by every default allowlist. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** A Host header value is a name or address and an optional port: nothing else may appear. */
const HOST_CHARACTERS = /^[A-Za-z0-9.\-_:[\]]+$/;

/**
 * The host name of a `Host` header value (or an allowlist entry) in one canonical form, so that
 * spellings of the same name compare equal: lower case, without the port, without a trailing dot,
 * IPv6 in brackets in its shortest form and IPv4 in dotted decimal (as URL parsing writes them).
 * `undefined` for a value that names no host.
 */
export function canonicalHost(value: string): string | undefined {
  if (value === '' || !HOST_CHARACTERS.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${value}/`);
  } catch {
    return undefined;
  }
  const hostname = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  return hostname === '' ? undefined : hostname;
}

/** A set of allowed host names, or every host (`*`). */
export class HostAllowlist {
  readonly #hosts: ReadonlySet<string> | 'any';

  private constructor(hosts: ReadonlySet<string> | 'any') {
    this.#hosts = hosts;
  }

  /**
   * The allowlist `names` spell (host names or addresses, a port ignored); `*` among them allows
   * every host, as in etcd.
   *
   * @throws RangeError naming an entry that is no host name.
   */
  static of(names: readonly string[]): HostAllowlist {
    if (names.includes('*')) return new HostAllowlist('any');
    const hosts = new Set<string>();
    for (const name of names) {
      const trimmed = name.trim();
      // An IPv6 address may be listed without brackets (`::1`), as a Host header never spells it.
      const bracketed =
        trimmed.split(':').length > 2 && !trimmed.startsWith('[') ? `[${trimmed}]` : trimmed;
      const host = canonicalHost(bracketed);
      if (host === undefined) throw new RangeError(`"${name}" is not a host name`);
      hosts.add(host);
    }
    return new HostAllowlist(hosts);
  }

  /**
   * Parses etcd's `--host-whitelist` syntax: comma-separated host names, `*` for every host.
   *
   * @throws RangeError naming an entry that is no host name.
   */
  static parse(text: string): HostAllowlist {
    return HostAllowlist.of(
      text
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    );
  }

  /** Only the loopback names ({@link LOOPBACK_HOSTS}), with any port. */
  static loopback(): HostAllowlist {
    return HostAllowlist.of(LOOPBACK_HOSTS);
  }

  /** Whether every host is allowed. */
  get allowsAny(): boolean {
    return this.#hosts === 'any';
  }

  /** Whether a request whose `Host` header is `header` may be answered. */
  allows(header: string | undefined): boolean {
    if (this.#hosts === 'any') return true;
    if (header === undefined) return false;
    const host = canonicalHost(header);
    return host !== undefined && this.#hosts.has(host);
  }

  /**
   * Answers a request whose host is not allowed with 403 and a JSON error, and returns `true`;
   * returns `false` (touching nothing) when the host is allowed.
   */
  refuse(request: IncomingMessage, response: ServerResponse): boolean {
    if (this.allows(request.headers.host)) return false;
    const message =
      'host not allowed: this server answers only the host names it is configured for ' +
      '(--host-whitelist); a request naming another host may come from a DNS-rebinding web page';
    const body = JSON.stringify({
      error: message,
      code: GrpcCode.permissionDenied,
      message,
      reason: 'host_not_allowed',
      definite: true,
    });
    // The request body, if any, is never read: discard it (bounded) and close after answering.
    sendBeforeBody(
      request,
      response,
      403,
      { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body,
    );
    return true;
  }
}
