import { describe, expect, it } from 'vitest';
import { parseCommandLine, parseDetectorAbCommandLine, UsageError } from './cli-options.js';

describe('parseCommandLine', () => {
  it('fills in defaults', () => {
    const parsed = parseCommandLine([], '/kv/cli.js');
    expect(parsed).toMatchObject({
      kind: 'run',
      json: false,
      options: {
        kvNodeCli: '/kv/cli.js',
        nodeCount: 3,
        durationMs: 60_000,
        resultsDirectory: 'results',
        registerWorkers: 10,
        setWorkers: 2,
        peerRouting: 'per-link',
        extraNodeArgs: [],
      },
    });
    expect(parsed.kind === 'run' && parsed.options.seed).toBe(undefined);
  });

  it('reads every flag', () => {
    const parsed = parseCommandLine(
      [
        '--nodes=5',
        '--duration=30',
        '--seed=42',
        '--faults=kill,pause,partition',
        '--node-arg=--unsafe-x',
        '--node-arg=--y',
        '--kv-node-arg=--z',
        '--election-timeout=1000',
        '--peer-routing=shared',
        '--json',
        '--unsafe-serializable-reads',
      ],
      '/kv/cli.js',
    );
    expect(parsed).toMatchObject({
      kind: 'run',
      json: true,
      options: {
        nodeCount: 5,
        durationMs: 30_000,
        seed: 42,
        kinds: ['kill', 'pause', 'partition'],
        extraNodeArgs: ['--unsafe-x', '--y', '--z'],
        electionTimeoutMs: 1000,
        peerRouting: 'shared',
        unsafeSerializableReads: true,
      },
    });
  });

  it('rejects bad input naming the flag', () => {
    expect(() => parseCommandLine(['--nodes=2'], '')).toThrow(/--nodes/);
    expect(() => parseCommandLine(['--faults=meteor'], '')).toThrow(/unknown kind "meteor"/);
    expect(() => parseCommandLine(['--seed=-1'], '')).toThrow(/--seed/);
    expect(() => parseCommandLine(['--peer-routing=carrier-pigeon'], '')).toThrow(UsageError);
    expect(() => parseCommandLine(['--bogus'], '')).toThrow(UsageError);
  });

  it('reads the safety faults and poison choices', () => {
    const parsed = parseCommandLine(
      [
        '--faults=kill-all,disk-full,link-tamper',
        '--poison=nested-txn,bad-base64',
        '--poison-clients=2',
      ],
      '/kv/cli.js',
    );
    expect(parsed).toMatchObject({
      kind: 'run',
      options: {
        kinds: ['kill-all', 'disk-full', 'link-tamper'],
        poisonKinds: ['nested-txn', 'bad-base64'],
        poisonWorkers: 2,
      },
    });
    const none = parseCommandLine(['--poison=none'], '');
    expect(none.kind === 'run' && none.options.poisonKinds).toEqual([]);
    const defaults = parseCommandLine([], '');
    expect(defaults.kind === 'run' && defaults.options.poisonKinds).toContain('nested-txn');
    const all = parseCommandLine(['--poison=all'], '');
    expect(all.kind === 'run' && all.options.poisonKinds).toContain('nested-txn');
    expect(() => parseCommandLine(['--poison=arsenic'], '')).toThrow(/--poison: unknown kind/);
  });

  it('asks for help', () => {
    expect(parseCommandLine(['--help'], '')).toEqual({ kind: 'help' });
  });

  it('reads quorum mode and its consistency level, with no poison unless asked for', () => {
    const parsed = parseCommandLine(
      ['--replication', 'quorum', '--consistency', 'quorum'],
      '/kv/cli.js',
    );
    expect(parsed).toMatchObject({
      kind: 'run',
      options: { replication: 'quorum', consistency: 'quorum', poisonKinds: [] },
    });
    const poisoned = parseCommandLine(
      ['--replication=quorum', '--poison=malformed-json'],
      '/kv/cli.js',
    );
    expect(poisoned.kind === 'run' && poisoned.options.poisonKinds).toEqual(['malformed-json']);
  });

  it('refuses an unknown replication mode or level, and a level without quorum mode', () => {
    expect(() => parseCommandLine(['--replication=raft'], '/kv/cli.js')).toThrow(UsageError);
    expect(() =>
      parseCommandLine(['--replication=quorum', '--consistency=all'], '/kv/cli.js'),
    ).toThrow(/--consistency/);
    expect(() => parseCommandLine(['--consistency=one'], '/kv/cli.js')).toThrow(
      /only with --replication quorum/,
    );
  });

  it('reads a fault count', () => {
    const parsed = parseCommandLine(['--faults=kill-leader', '--fault-count=50'], '');
    expect(parsed).toMatchObject({
      kind: 'run',
      options: { kinds: ['kill-leader'], faultCount: 50 },
    });
    expect(() => parseCommandLine(['--fault-count=0'], '')).toThrow(/--fault-count/);
  });
});

describe('parseDetectorAbCommandLine', () => {
  it('reads its own flags and passes the rest to the chaos options', () => {
    const parsed = parseDetectorAbCommandLine(
      [
        '--kills-per-arm',
        '60',
        '--block-kills=12',
        '--detectors=phi,fixed',
        '--seed=9',
        '--clients=4',
      ],
      '/kv/cli.js',
    );
    expect(parsed).toMatchObject({
      kind: 'detector-ab',
      options: {
        seed: 9,
        killsPerArm: 60,
        blockKills: 12,
        detectors: ['phi', 'fixed'],
        base: { kvNodeCli: '/kv/cli.js', registerWorkers: 4 },
      },
    });
    const defaults = parseDetectorAbCommandLine([], '');
    expect(defaults).toMatchObject({
      options: { killsPerArm: 50, blockKills: 10, detectors: ['fixed', 'phi'] },
    });
  });

  it('refuses fault choices and unknown detectors', () => {
    expect(() => parseDetectorAbCommandLine(['--faults=pause'], '')).toThrow(/--faults/);
    expect(() => parseDetectorAbCommandLine(['--fault-count=3'], '')).toThrow(/--fault-count/);
    expect(() => parseDetectorAbCommandLine(['--detectors=oracle'], '')).toThrow(/oracle/);
    expect(() => parseDetectorAbCommandLine(['--block-kills'], '')).toThrow(/needs a value/);
  });
});
