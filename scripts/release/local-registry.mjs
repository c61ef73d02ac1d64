// A throw-away npm registry (verdaccio) on loopback for the release test: the workspace publishes
// to it exactly as it would to npmjs.org, and test projects install `@x/*` from it. It has no
// uplinks, so it serves only what was published to it; everything else a test project needs comes
// from the user's ordinary registry.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { repositoryRoot } from './published-packages.mjs';

const require = createRequire(join(repositoryRoot, 'package.json'));

/**
 * @typedef {object} LocalRegistry
 * @property {string} url          e.g. `http://127.0.0.1:40123/`
 * @property {number} pid          verdaccio's process id
 * @property {string} token        an auth token of a user allowed to publish
 * @property {() => string} output what verdaccio has printed so far
 * @property {() => Promise<void>} stop  stops verdaccio (SIGTERM, then SIGKILL) and waits for it
 */

/** @returns {Promise<number>} a TCP port that was free on 127.0.0.1 a moment ago. */
export function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Starts verdaccio on a free loopback port with its storage under `directory`, waits until it
 * answers, and registers a user that may publish.
 *
 * @param {string} directory a scratch directory (created if missing), owned by the caller
 * @returns {Promise<LocalRegistry>}
 * @throws if verdaccio does not answer within a minute or the user cannot be created; verdaccio
 *   is stopped first.
 */
export async function startLocalRegistry(directory) {
  mkdirSync(directory, { recursive: true });
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}/`;
  const config = join(directory, 'verdaccio.yaml');
  writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(join(directory, 'storage'))}`,
      'auth:',
      '  htpasswd:',
      `    file: ${JSON.stringify(join(directory, 'htpasswd'))}`,
      'uplinks: {}',
      'packages:',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      'web:',
      '  enable: false',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  // The package's `bin` (its `exports` do not list it).
  const verdaccio = join(dirname(require.resolve('verdaccio/package.json')), 'bin', 'verdaccio');
  const child = spawn(process.execPath, [verdaccio, '--config', config, '--listen', url], {
    cwd: directory,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const pid = /** @type {number} */ (child.pid);

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(pid, 'SIGTERM');
    const killer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
    }, 10_000);
    await exited;
    clearTimeout(killer);
  };

  try {
    await waitUntilAnswering(url, child, () => output);
    const token = await createUser(url);
    return { url, pid, token, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * @param {string} url
 * @param {import('node:child_process').ChildProcess} child
 * @param {() => string} output
 */
async function waitUntilAnswering(url, child, output) {
  for (let attempt = 0; attempt < 240; attempt += 1) {
    if (child.exitCode !== null)
      throw new Error(`verdaccio exited ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(new URL('-/ping', url));
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`verdaccio did not answer on ${url} within a minute:\n${output()}`);
}

/**
 * Registers a user the way `npm adduser` does and returns its token.
 *
 * @param {string} url
 * @returns {Promise<string>}
 */
async function createUser(url) {
  const name = 'release-test';
  const response = await fetch(new URL(`-/user/org.couchdb.user:${name}`, url), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: 'release-test-password', type: 'user', roles: [] }),
  });
  const body = /** @type {{ token?: string }} */ (await response.json());
  if (!response.ok || typeof body.token !== 'string') {
    throw new Error(`verdaccio did not create a user: ${response.status} ${JSON.stringify(body)}`);
  }
  return body.token;
}

/**
 * Writes an npm configuration file that sends `@x/*` to the registry, with its token; with
 * `everything`, every package goes there (for publishing, so nothing can reach npmjs.org).
 *
 * @param {string} path
 * @param {LocalRegistry} registry
 * @param {{ everything?: boolean }} [options]
 */
export function writeRegistryConfig(path, registry, options = {}) {
  const host = registry.url.replace(/^https?:/, '');
  writeFileSync(
    path,
    [
      ...(options.everything ? [`registry=${registry.url}`] : []),
      `@x:registry=${registry.url}`,
      `${host}:_authToken=${registry.token}`,
      '',
    ].join('\n'),
  );
}
