// The release as a user meets it (issue 17): every published package goes to a local npm registry
// (verdaccio on loopback, started and stopped here) through `changeset publish`, the command
// `pnpm release` runs; then each package is installed alone from that registry into an empty
// folder, its README example is compiled against the installed declarations and run on the
// installed code, and `npx kv-node cluster` runs from an installed copy and serves a write.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeBasePort } from '../../tools/net/free-port.js';
import type { LocalRegistry } from './local-registry.mjs';
import { startLocalRegistry, writeRegistryConfig } from './local-registry.mjs';
import { listPublishedPackages, repositoryRoot } from './published-packages.mjs';
import { README_EXAMPLES } from './readme-examples.mjs';
import { runCommand } from './run-command.mjs';
import { compileExamples, createUserProject, runToEnd, startProcess } from './user-project.mjs';

/**
 * The reader docs/examples.test.ts uses to compile every README example against the sources,
 * loaded by path so that this project's type check (checkJs) does not take in the docs' script.
 */
const checkExamplesScript = new URL('../../docs/scripts/check-examples.mjs', import.meta.url).href;
const { collectExamples } = (await import(checkExamplesScript)) as {
  collectExamples: (files: string[]) => { id: string; code: string }[];
};

const packages = listPublishedPackages();
const unbuilt = packages.filter((entry) => !existsSync(join(entry.directory, 'dist')));
// Publishing needs dist/. In CI a missing build is a failure; locally it is a skip that says why.
const skipped = unbuilt.length > 0 && process.env.CI !== 'true';
if (skipped) {
  console.warn(
    `registry release: skipped: ${unbuilt.map((entry) => entry.name).join(', ')} not built (run \`pnpm build\`)`,
  );
}

/** The README examples of one package, as docs/scripts/check-examples.mjs reads them. */
function examplesOf(directory: string): { id: string; code: string }[] {
  const readme = join(directory, 'README.md');
  return collectExamples([readme]);
}

/** SIGKILL to a process group, ignoring one that is already gone. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Retries `attempt` until it returns a value or `timeoutMs` passes (then throws its last error). */
async function eventually<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

describe.skipIf(skipped)('release to a local registry', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'x-registry-release-'));
  let registry: LocalRegistry | undefined;
  let publishPlan = '';
  let published = { status: null as number | null, output: '' };

  beforeAll(async () => {
    registry = await startLocalRegistry(join(scratch, 'registry'));
    // For publishing, every package name resolves to the local registry: nothing can reach npmjs.
    const publishConfig = join(scratch, 'publish.npmrc');
    writeRegistryConfig(publishConfig, registry, { everything: true });
    const env = { ...process.env, NPM_CONFIG_USERCONFIG: publishConfig, CI: 'true' };
    publishPlan = (
      await runCommand('pnpm', ['exec', 'changeset', 'publish-plan'], { cwd: repositoryRoot, env })
    ).output;
    // --no-git-tag: a test must not tag the repository.
    published = await runCommand('pnpm', ['exec', 'changeset', 'publish', '--no-git-tag'], {
      cwd: repositoryRoot,
      env,
    });
  }, 300_000);

  afterAll(async () => {
    await registry?.stop();
    await rm(scratch, { recursive: true, force: true });
  }, 60_000);

  it('the publish plan (`pnpm release:plan`) names every published package at its version', () => {
    for (const entry of packages) expect(publishPlan).toContain(`${entry.name}@${entry.version}`);
  });

  it('`changeset publish` publishes every package to the registry', async () => {
    expect(published.status, published.output).toBe(0);
    for (const entry of packages) {
      const response = await fetch(new URL(entry.name.replace('/', '%2f'), registry!.url));
      const manifest = (await response.json()) as { 'dist-tags'?: { latest?: string } };
      expect(manifest['dist-tags']?.latest, entry.name).toBe(entry.version);
    }
  });

  it('every README example has an expectation', () => {
    const ids = packages.flatMap((entry) =>
      examplesOf(entry.directory).map((example) => example.id),
    );
    expect(ids.filter((id) => !(id in README_EXAMPLES))).toEqual([]);
  });

  it.each(
    packages
      .filter((entry) => examplesOf(entry.directory).length > 0)
      .map((entry) => [entry.name, entry] as const),
  )(
    '%s installs alone from the registry and its README example runs',
    async (_name, entry) => {
      expect(published.status, published.output).toBe(0);
      const project = join(scratch, `user-${entry.name.replace(/\W+/g, '-')}`);
      const examples = examplesOf(entry.directory);
      // The package, and the other @x packages its example imports, which a user would add too
      // (the leader-follower example uses @x/transport-tcp, which @x/leader-follower does not).
      const imported = new Set(
        examples.flatMap((example) =>
          [...example.code.matchAll(/from '(@x\/[\w-]+)/g)].map((match) => match[1]!),
        ),
      );
      const specs = packages
        .filter((candidate) => candidate === entry || imported.has(candidate.name))
        .map((candidate) => `${candidate.name}@${candidate.version}`);
      expect(await createUserProject(project, registry!.url, specs)).toEqual([]);
      const installed = JSON.parse(
        readFileSync(join(project, 'node_modules', entry.name, 'package.json'), 'utf8'),
      ) as { version: string };
      expect(installed.version).toBe(entry.version);

      expect(await compileExamples(project, examples)).toEqual([]);
      for (const example of examples) {
        const expectation = README_EXAMPLES[example.id];
        if (expectation === undefined || expectation.mode === 'compile') continue;
        const script = join('out', `${example.id}.js`);
        if (expectation.mode === 'exit') {
          const run = await runToEnd(process.execPath, [script], {
            cwd: project,
            timeoutMs: 60_000,
          });
          expect(run.code, `${example.id}:\n${run.output}`).toBe(expectation.exitCode ?? 0);
          for (const pattern of expectation.prints ?? []) expect(run.output).toMatch(pattern);
        } else {
          // The WAL's scenario: print durable indexes, die by SIGKILL, recover at least those.
          const first = startProcess(process.execPath, [script], { cwd: project });
          await first
            .waitFor(/(?:durable \d+\n[^]*){3}/, 60_000)
            .finally(() => process.kill(first.pid, 'SIGKILL'));
          await first.exited;
          const durable = [...first.output().matchAll(/durable (\d+)/g)].map((match) =>
            Number(match[1]),
          );
          const second = startProcess(process.execPath, [script], { cwd: project });
          const recovered = await second
            .waitFor(/recovered entries (\d+)\.\.(\d+)/, 60_000)
            .finally(() => process.kill(second.pid, 'SIGKILL'));
          await second.exited;
          expect(Number(recovered[1])).toBe(1);
          expect(Number(recovered[2])).toBeGreaterThanOrEqual(Math.max(...durable));
        }
      }
    },
    300_000,
  );

  it('@x/linearizability installed alone provides the x-linearizability command', async () => {
    const project = join(scratch, 'user-x-linearizability-command');
    const entry = packages.find((candidate) => candidate.name === '@x/linearizability')!;
    expect(
      await createUserProject(project, registry!.url, [`${entry.name}@${entry.version}`]),
    ).toEqual([]);
    // No arguments is a usage error: exit 3 with the usage text, from the installed launcher.
    const run = await runToEnd('npx', ['--no-install', 'x-linearizability'], {
      cwd: project,
      timeoutMs: 60_000,
    });
    expect(run.code, run.output).toBe(3);
    expect(run.output).toContain('Usage: x-linearizability check FILE');
  }, 300_000);

  it('`npx kv-node cluster` from an installed @x/kv-node serves a write and a read', async () => {
    const project = join(scratch, 'user-kv-node');
    const entry = packages.find((candidate) => candidate.name === '@x/kv-node')!;
    expect(
      await createUserProject(project, registry!.url, [`${entry.name}@${entry.version}`]),
    ).toEqual([]);
    const basePort = await freeBasePort(3);
    // A process group of its own: npx, the launcher and the members it starts stop together.
    const cluster = startProcess(
      'npx',
      [
        '--no-install',
        'kv-node',
        'cluster',
        '--nodes',
        '3',
        '--base-port',
        String(basePort),
        '--data-dir',
        'cluster-data',
      ],
      { cwd: project, group: true },
    );
    try {
      const [, dataDirectory] = await cluster.waitFor(/data under (\S+)/, 120_000);
      // The banner names the real folder (absolute), not the relative one it was given.
      expect(dataDirectory).toBe(join(project, 'cluster-data'));
      await cluster.waitFor(/Ctrl-C stops every member/, 60_000);
      const urls = [...cluster.output().matchAll(/^ {2}node-\d +(http:\/\/\S+)/gm)].map(
        (match) => match[1]!,
      );
      expect(urls).toHaveLength(3);
      await eventually(async () => {
        const response = await fetch(`${urls[0]}/v1/kv/hello`, {
          method: 'PUT',
          body: 'world',
          signal: AbortSignal.timeout(5_000),
        });
        if (!response.ok)
          throw new Error(`PUT answered ${response.status}: ${await response.text()}`);
      }, 60_000);
      const value = await eventually(async () => {
        const response = await fetch(`${urls[1]}/v1/kv/hello`, {
          signal: AbortSignal.timeout(5_000),
        });
        const body = await response.text();
        if (!response.ok || body !== 'world')
          throw new Error(`GET answered ${response.status}: ${body}`);
        return body;
      }, 60_000);
      expect(value).toBe('world');
    } finally {
      // Ctrl-C, as a user stops it; SIGKILL to the group if it has not stopped in 30 s.
      process.kill(-cluster.pid, 'SIGINT');
      const killer = setTimeout(() => killGroup(cluster.pid), 30_000);
      await cluster.exited;
      clearTimeout(killer);
      // A member that outlived the launcher is still in its group.
      killGroup(cluster.pid);
    }
  }, 300_000);
});
