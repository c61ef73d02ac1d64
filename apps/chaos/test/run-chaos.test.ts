import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { killEverySpawnedNode } from '../src/kv-cluster.js';
import { runChaos } from '../src/run-chaos.js';
import { FakeEtcdServer } from './fake-etcd-server.js';

const results = mkdtempSync(join(tmpdir(), 'chaos-run-'));
afterAll(() => {
  killEverySpawnedNode();
  rmSync(results, { recursive: true, force: true });
});

describe('runChaos against stand-in nodes', () => {
  it('starts the nodes, applies faults, heals, checks and writes the results', async () => {
    const store = await FakeEtcdServer.start();
    try {
      const lines: string[] = [];
      const result = await runChaos({
        kvNodeCli: fileURLToPath(new URL('./fake-kv-node.mjs', import.meta.url)),
        nodeCount: 3,
        durationMs: 8000,
        seed: 9,
        kinds: ['kill', 'pause', 'partition'],
        resultsDirectory: results,
        registerWorkers: 4,
        setWorkers: 1,
        requestTimeoutMs: 500,
        extraNodeArgs: ['--store', store.endpoint],
        // The stand-in store validates nothing: poison requests are for real nodes
        // (test/safety-faults.test.ts).
        poisonKinds: [],
        log: (line) => lines.push(line),
      });
      expect(lines[0]).toMatch(/^seed 9: \d+ faults/);
      // Seed 9 draws one fault: kill -9 the leader (the stand-in's leader is node-a), restart.
      expect(result.faults).toMatchObject([
        {
          kind: 'kill',
          affectedNodes: [0],
          leaderLost: true,
          // The restarted node was waited for before the run went on.
          recoveredAfterMs: expect.any(Number) as number,
        },
      ]);
      expect(result.measures.failoverMs).toHaveLength(1);
      expect(result.checks.map((check) => check.name)).toEqual([
        'linearizable',
        'no-failed-write-visible',
        'watch-no-gap',
        'watch-in-order',
        'watch-no-phantom',
        'no-acknowledged-write-lost',
        'no-failed-set-write-visible',
        'state-hashes-equal',
        'write-after-heal',
        'no-unexpected-exit',
      ]);
      // One shared store behind every node is a single copy: every check must pass.
      expect(result.checks.filter((check) => !check.passed)).toEqual([]);
      expect(result.passed).toBe(true);
      expect(result.measures.operations.ok).toBeGreaterThan(0);
      const saved = JSON.parse(readFileSync(join(result.runDirectory, 'result.json'), 'utf8')) as {
        seed: number;
      };
      expect(saved.seed).toBe(9);
      expect(readFileSync(join(result.runDirectory, 'history.jsonl'), 'utf8')).toContain(
        '"invoke"',
      );
      // The watcher started on node-a, whose kill broke its stream: it re-opened elsewhere and
      // still saw every acknowledged write.
      const watch = JSON.parse(readFileSync(join(result.runDirectory, 'watch.json'), 'utf8')) as {
        streams: string[];
        events: unknown[];
      };
      expect(watch.streams.length).toBeGreaterThan(0);
      expect(watch.events.length).toBeGreaterThan(0);
      expect(result.checks.find((check) => check.name === 'watch-no-gap')?.detail).toMatch(
        /^all [1-9]\d* acknowledged writes delivered/,
      );
      expect(readFileSync(join(result.runDirectory, 'logs', 'node-a.log'), 'utf8')).toContain(
        'node-a serving',
      );
      // A passing run's data directories are removed; its logs stay.
      expect(existsSync(join(result.runDirectory, 'data'))).toBe(false);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('fails fast, quoting the log, when the nodes exit while the cluster forms', async () => {
    const broken = join(results, 'broken-cli.mjs');
    writeFileSync(
      broken,
      "console.error('kv-node: invalid configuration: --x'); process.exit(2);\n",
    );
    await expect(
      runChaos({
        kvNodeCli: broken,
        nodeCount: 3,
        durationMs: 5000,
        seed: 1,
        resultsDirectory: results,
      }),
    ).rejects.toThrow(/did not start: node-\w exited with code 2 \(kv-node: invalid configuration/);
  }, 60_000);
});
