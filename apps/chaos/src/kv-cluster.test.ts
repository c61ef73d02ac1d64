import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KvNodeSpec } from './kv-cluster.js';
import {
  faketimeAvailable,
  faketimeSpec,
  KvCluster,
  killEverySpawnedNode,
  nodePaths,
} from './kv-cluster.js';

const directory = mkdtempSync(join(tmpdir(), 'chaos-cluster-'));
afterAll(() => {
  killEverySpawnedNode();
  rmSync(directory, { recursive: true, force: true });
});

// Stands in for kv-node's CLI: prints its arguments and its clocks (wall clock ahead of ours,
// and how far each clock moved over a 300 ms timer), then runs until killed (or exits if told to).
const cliPath = join(directory, 'fake-cli.mjs');
writeFileSync(
  cliPath,
  `console.log('args ' + JSON.stringify(process.argv.slice(2)));
if (process.argv.includes('--exit-at-once')) process.exit(3);
const wall = Date.now();
const monotonic = performance.now();
const ahead = wall - Number(process.argv[process.argv.indexOf('--started-at') + 1]);
setTimeout(() => console.log('clocks ' + JSON.stringify({ ahead, wall: Date.now() - wall, monotonic: performance.now() - monotonic })), 300);
setInterval(() => {}, 1000);\n`,
);

function spec(index: number, extraArgs: string[] = []): KvNodeSpec {
  const name = `n${index + 1}`;
  return {
    index,
    name,
    clientUrl: `http://127.0.0.1:${2379 + index}`,
    listenPeerUrl: `http://127.0.0.1:${2380 + 10 * index}`,
    advertisedPeerUrls: [`http://127.0.0.1:${3380 + index}`],
    initialCluster: 'n1=http://127.0.0.1:3380,n2=http://127.0.0.1:3381',
    ...nodePaths(directory, name),
    extraArgs,
  };
}

async function eventually(condition: () => boolean): Promise<void> {
  for (let tries = 0; !condition(); tries++) {
    if (tries > 400) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('KvCluster', () => {
  it('passes etcd-style flags', () => {
    const cluster = new KvCluster({
      cliPath,
      nodes: [spec(0), spec(1)],
      clusterToken: 'chaos',
      commonArgs: ['--election-timeout', '1000'],
    });
    const args = cluster.argumentsOf(1);
    expect(args.slice(0, 2)).toEqual(['--name', 'n2']);
    expect(args[args.indexOf('--initial-cluster') + 1]).toBe(
      'n1=http://127.0.0.1:3380,n2=http://127.0.0.1:3381',
    );
    expect(args[args.indexOf('--listen-peer-urls') + 1]).toBe('http://127.0.0.1:2390');
    expect(args.slice(-2)).toEqual(['--election-timeout', '1000']);
  });

  it('waits for an exit a fault causes, without reporting it as unexpected', async () => {
    const cluster = new KvCluster({
      cliPath,
      nodes: [spec(0), spec(1, ['--exit-at-once'])],
      clusterToken: 'chaos',
      commonArgs: [],
    });
    cluster.start(0);
    cluster.start(1);
    cluster.expectExit(1);
    expect(await cluster.waitForExit(1, 30_000)).toBe(true);
    // Node 0 runs until killed: the wait gives up.
    expect(await cluster.waitForExit(0, 50)).toBe(false);
    await cluster.kill(0);
    expect(await cluster.waitForExit(0, 50)).toBe(true);
    expect(cluster.unexpectedExits).toEqual([]);
  });

  it('starts, pauses, resumes and kills processes, logging their output', async () => {
    const cluster = new KvCluster({
      cliPath,
      nodes: [spec(0), spec(1, ['--exit-at-once'])],
      clusterToken: 'chaos',
      commonArgs: [],
    });
    cluster.start(0);
    cluster.start(1);
    expect(() => cluster.start(0)).toThrow(/running/);
    await eventually(() => readFileSync(spec(0).logFile, 'utf8').includes('args'));
    cluster.pause(0);
    expect(cluster.isPaused(0)).toBe(true);
    cluster.resume(0);
    expect(cluster.isPaused(0)).toBe(false);
    await eventually(() => !cluster.isRunning(1));
    expect(cluster.unexpectedExits).toEqual([{ node: 'n2', code: 3, signal: null }]);
    await cluster.kill(0);
    expect(cluster.isRunning(0)).toBe(false);
    cluster.start(0);
    cluster.pause(0);
    await cluster.stopAll();
    expect(cluster.isRunning(0)).toBe(false);
    expect(cluster.unexpectedExits).toHaveLength(1);
  });

  it.runIf(faketimeAvailable())(
    'shifts and speeds up a wall clock under libfaketime, leaving the monotonic clock',
    async () => {
      const cluster = new KvCluster({
        cliPath,
        nodes: [spec(0, ['--started-at', String(Date.now())])],
        clusterToken: 'chaos',
        commonArgs: [],
      });
      cluster.start(0, { wallClock: { offsetMs: 600_000, rate: 2 } });
      const logFile = nodePaths(directory, 'n1').logFile;
      const clocks = (): string | undefined =>
        readFileSync(logFile, 'utf8')
          .split('\n')
          .find((line) => line.startsWith('clocks '));
      await eventually(() => clocks() !== undefined);
      const seen = JSON.parse((clocks() as string).slice('clocks '.length)) as {
        ahead: number;
        wall: number;
        monotonic: number;
      };
      await cluster.stopAll();
      expect(seen.ahead).toBeGreaterThan(500_000);
      // Twice as fast on the wall clock; the 300 ms timer itself ran on the real monotonic clock.
      expect(seen.wall).toBeGreaterThan(1.5 * seen.monotonic);
      expect(seen.monotonic).toBeGreaterThanOrEqual(299);
      expect(seen.monotonic).toBeLessThan(5000);
    },
  );

  it('spells faketime offsets', () => {
    expect(faketimeSpec(30_000)).toBe('+30s');
    expect(faketimeSpec(-2500)).toBe('-2.5s');
    expect(faketimeSpec(-2500, 1)).toBe('-2.5s');
    expect(faketimeSpec(4000, 0.5)).toBe('+4s x0.5');
  });
});
