/**
 * Rehearses deploy/Dockerfile without a container engine: runs its build steps in a scratch
 * directory, starts kv-node the way the image's ENTRYPOINT would (with the image's environment,
 * overridden as `docker run -e` would to use free loopback ports and a scratch data directory),
 * waits for /readyz, runs the image's HEALTHCHECK, then stops it with the image's STOPSIGNAL and
 * expects a clean exit. The image must also carry what a plain `tsup` build leaves out: the
 * dashboard's browser bundle (served at /ui) and LMDB's prebuilt binary (`--backend lmdb`).
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../tools/net/free-port.js';
import { rehearseDockerfile, type RehearsedImage } from './checks/dockerfile-rehearsal.js';

const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));
const dockerfile = fileURLToPath(new URL('Dockerfile', import.meta.url));

function skipReason(): string | undefined {
  if (process.env.KV_DEPLOY_SKIP_REHEARSAL === '1') {
    return 'KV_DEPLOY_SKIP_REHEARSAL=1';
  }
  if (!existsSync(join(repositoryRoot, 'apps/kv-node/src/cli.ts'))) {
    return 'apps/kv-node has no CLI yet, so there is nothing to start';
  }
  return undefined;
}

const skipped = skipReason();
if (skipped !== undefined) {
  console.warn(`deploy: skipping the Dockerfile rehearsal: ${skipped}`);
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

async function waitForReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  // A single member elects itself within its election timeout (1-2 s by default).
  for (let attempt = 0; attempt < 150; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`kv-node exited ${child.exitCode}:\n${log()}`);
    const status = await fetch(url).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} never answered 200:\n${log()}`);
}

/** Translates an image path in a command (`/app/dist/cli.js`) to the rehearsal directory. */
function onHost(image: RehearsedImage, command: readonly string[]): string[] {
  return command.map((part) =>
    part.startsWith('/') && existsSync(image.hostPath(part)) ? image.hostPath(part) : part,
  );
}

/** kv-node started as `docker run -e ...` would start the image, with its output kept. */
interface StartedImage {
  readonly child: ChildProcess;
  readonly clientUrl: string;
  readonly environment: NodeJS.ProcessEnv;
  readonly output: () => string;
}

/**
 * Starts the image's command with its environment, overridden as `docker run -e` would for free
 * loopback ports, a scratch data directory and `overrides`. The caller kills it (by pid).
 */
async function startImage(
  image: RehearsedImage,
  dataDirectory: string,
  overrides: Record<string, string> = {},
): Promise<StartedImage> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const environment = {
    PATH: process.env.PATH,
    ...Object.fromEntries(image.environment),
    // What `docker run -e ... -v data:/var/lib/kv-node` would set for this host.
    KV_NODE_DATA_DIR: dataDirectory,
    KV_NODE_LISTEN_CLIENT_URLS: clientUrl,
    KV_NODE_LISTEN_PEER_URLS: `http://127.0.0.1:${peerPort}`,
    KV_NODE_NAME: 'rehearsal',
    ...overrides,
  };
  const [program, ...args] = onHost(image, image.command);
  const child = spawn(program!, args, {
    cwd: image.hostPath(image.workdir),
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, clientUrl, environment, output: () => output };
}

/** Kills a started image's process by pid if it still runs. */
function killIfRunning(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe.skipIf(skipped !== undefined)('deploy/Dockerfile rehearsal', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'kv-node-image-'));
  let image: RehearsedImage;
  const steps: string[] = [];
  const timings: string[] = [];
  const started = performance.now();

  beforeAll(() => {
    image = rehearseDockerfile({
      dockerfile,
      context: repositoryRoot,
      scratch,
      hostStage: 'toolchain',
      hostEnvironment: process.env,
      onStep: (step) => {
        steps.push(step);
        timings.push(`${((performance.now() - started) / 1000).toFixed(1)} s ${step}`);
      },
    });
    console.info(`deploy: Dockerfile rehearsal steps (elapsed):\n${timings.join('\n')}`);
  }, 300_000);

  afterAll(() => rm(scratch, { recursive: true, force: true }), 120_000);

  it('stands the host in for the toolchain stage: same pnpm as packageManager', () => {
    const packageManager = (
      JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
        packageManager: string;
      }
    ).packageManager;
    const pnpm = spawnSync('pnpm', ['--version'], { encoding: 'utf8' }).stdout.trim();
    expect(`pnpm@${pnpm}`).toBe(packageManager);
    expect(steps).toContain('stage toolchain: the host stands in for it');
  }, 30_000);

  it('holds kv-node with production dependencies only', () => {
    const app = image.hostPath('/app');
    expect(existsSync(join(app, 'dist/cli.js'))).toBe(true);
    expect(existsSync(join(app, 'healthcheck.mjs'))).toBe(true);
    // The StatefulSet's membership steps (deploy/kubernetes/statefulset.yaml).
    for (const step of ['member-api.mjs', 'member-start.mjs', 'member-leave.mjs']) {
      expect(existsSync(join(app, step)), step).toBe(true);
    }
    const installed = readdirSync(join(app, 'node_modules'));
    for (const tool of ['vitest', 'typescript', 'tsup', 'eslint']) {
      expect(installed, tool).not.toContain(tool);
    }
    for (const runtime of ['pino', 'prom-client']) expect(installed, runtime).toContain(runtime);
    // Workspace dependencies arrive built, as they would from npm.
    const workspaceDependencies = readdirSync(join(app, 'node_modules/@x'));
    expect(workspaceDependencies.length).toBeGreaterThan(0);
    for (const name of workspaceDependencies) {
      expect(existsSync(join(app, 'node_modules/@x', name, 'dist/index.js')), name).toBe(true);
    }
  });

  it('runs as an unprivileged user that owns only the data volume', () => {
    expect(image.user).toBe('node');
    expect(image.volumes).toEqual(['/var/lib/kv-node']);
    expect(image.environment.get('KV_NODE_DATA_DIR')).toBe('/var/lib/kv-node');
    expect(image.ownership).toEqual(['/var/lib/kv-node node:node']);
    expect(image.stopSignal).toBe('SIGTERM');
  });

  it('ships the dashboard bundle and the LMDB binary for this platform', () => {
    const ui = image.hostPath('/app/dist/ui');
    for (const asset of ['app.js', 'app.css', 'playground.js', 'playground.css']) {
      expect(existsSync(join(ui, asset)), `dist/ui/${asset}`).toBe(true);
    }
    // lmdb loads the binary of the optional package named after the platform; the build stage
    // installs the one of the platform it runs on, as Docker's would (linux-x64 or -arm64).
    const fromLmdb = createRequire(image.hostPath('/app/node_modules/lmdb/package.json'));
    const prebuilt = dirname(
      fromLmdb.resolve(`@lmdb/lmdb-${process.platform}-${process.arch}/package.json`),
    );
    expect(readdirSync(prebuilt).filter((file) => file.endsWith('.node'))).not.toEqual([]);
  });

  it('starts, becomes ready, passes its health check and stops cleanly on SIGTERM', async () => {
    const started = await startImage(image, join(scratch, 'data'));
    const { child, clientUrl, environment, output } = started;
    try {
      await waitForReady(`${clientUrl}/readyz`, child, output);
      const [checkProgram, ...checkArgs] = onHost(image, image.healthCheck!);
      const check = spawnSync(checkProgram!, checkArgs, { env: environment, encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      // The dashboard page and its script are served (503 with a "not built" page otherwise).
      expect((await fetch(`${clientUrl}/ui/`)).status).toBe(200);
      const script = await fetch(`${clientUrl}/ui/assets/app.js`);
      expect(script.status).toBe(200);
      expect((await script.text()).length).toBeGreaterThan(0);

      child.kill(image.stopSignal as NodeJS.Signals);
      const exit = await exitOf(child);
      expect(exit, output()).toEqual({ code: 0, signal: null });
      // After a stop the health check must fail, or an orchestrator would route to a dead member.
      const after = spawnSync(checkProgram!, checkArgs, { env: environment, encoding: 'utf8' });
      expect(after.status).toBe(1);
    } finally {
      killIfRunning(child);
    }
  }, 60_000);

  it('keeps its state on LMDB with KV_NODE_BACKEND=lmdb (the prebuilt binary loads)', async () => {
    const dataDirectory = join(scratch, 'data-lmdb');
    const started = await startImage(image, dataDirectory, { KV_NODE_BACKEND: 'lmdb' });
    const { child, clientUrl, output } = started;
    try {
      await waitForReady(`${clientUrl}/readyz`, child, output);
      const put = await fetch(`${clientUrl}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key: b64('image'), value: b64('on lmdb') }),
      });
      expect(put.status, output()).toBe(200);
      const range = await fetch(`${clientUrl}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({ key: b64('image') }),
      });
      const body = (await range.json()) as { kvs?: { value: string }[] };
      expect(body.kvs?.map((kv) => Buffer.from(kv.value, 'base64').toString())).toEqual([
        'on lmdb',
      ]);
      expect(existsSync(join(dataDirectory, 'kv-state.mdb'))).toBe(true);
      child.kill(image.stopSignal as NodeJS.Signals);
      expect(await exitOf(child), output()).toEqual({ code: 0, signal: null });
    } finally {
      killIfRunning(child);
    }
  }, 60_000);
});
