/** The random peer secret of a local cluster (`kv-node cluster`), kept in its data directory. */

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Random bytes in a new cluster secret (written base64-encoded). */
const SECRET_BYTES = 32;

/**
 * Makes sure `path` holds a peer secret: an existing one is kept (the cluster restarts with the
 * same data directory and secret), otherwise 32 bytes from the operating system's CSPRNG are
 * written base64-encoded with mode 0600, created exclusively so two launchers never race.
 *
 * @throws the file system error when the file can be neither read nor created
 */
export function ensurePeerSecretFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(path, `${randomBytes(SECRET_BYTES).toString('base64')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  readFileSync(path);
  // An older launcher or a hand-made file: keep the secret, but not readable by others.
  chmodSync(path, 0o600);
}
