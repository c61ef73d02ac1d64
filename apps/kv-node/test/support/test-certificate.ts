/**
 * TLS material for the suites that serve HTTPS and gRPC over TLS, made with the `openssl` command
 * (present on CI; elsewhere those suites skip).
 */

import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when the `openssl` command runs. */
export const opensslPresent = hasOpenssl();

/** Runs `openssl` with `args`; throws with its output if it fails. */
export function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/** A self-signed certificate for 127.0.0.1 and its key, as files and as the certificate's PEM. */
export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** The certificate's PEM: a client's only trusted CA. */
  readonly certificate: Buffer;
}

/** Writes a one-day self-signed RSA certificate for `127.0.0.1` (CN and IP SAN) into `directory`. */
export async function selfSignedCertificate(directory: string): Promise<TestCertificate> {
  const certFile = `${directory}/cert.pem`;
  const keyFile = `${directory}/key.pem`;
  openssl(
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
    ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    ...['-keyout', keyFile, '-out', certFile],
  );
  return { certFile, keyFile, certificate: await readFile(certFile) };
}
