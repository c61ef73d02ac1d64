/**
 * Whether Debian's etcd 3.4 binaries are installed: `etcdctl` (etcd-client) drives kv-node in the
 * etcd client suites, and `etcd` (etcd-server) is the oracle the compatibility suites compare
 * with. `.ci/run` installs both; elsewhere those suites skip (with a warning for etcdctl).
 */

import { execFileSync } from 'node:child_process';

function hasEtcdctl(): boolean {
  try {
    execFileSync('etcdctl', ['version'], {
      stdio: 'ignore',
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    return true;
  } catch {
    return false;
  }
}

/** True when `etcdctl` (3.4) runs; warns once per test file when it does not. */
export const etcdctlPresent = hasEtcdctl();
if (!etcdctlPresent) {
  console.warn(
    'etcdctl not found on PATH (Debian: apt-get install etcd-client): its tests are skipped',
  );
}

function hasEtcd(): boolean {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when the `etcd` server (3.4) runs. */
export const etcdPresent = hasEtcd();
