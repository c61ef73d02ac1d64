import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from './cli-options.js';
import { isStateBackend, stateBackendArgs } from './state-backend.js';

describe('state backends', () => {
  it('passes the chosen backend to kv-node, and nothing when none is chosen', () => {
    expect(stateBackendArgs(undefined, false)).toEqual([]);
    expect(stateBackendArgs('memory', false)).toEqual(['--backend', 'memory']);
    expect(stateBackendArgs('lmdb', false)).toEqual(['--backend', 'lmdb']);
    expect(stateBackendArgs('memory', true)).toEqual(['--backend', 'memory']);
  });

  it('refuses lmdb in quorum mode, which has no state store', () => {
    expect(() => stateBackendArgs('lmdb', true)).toThrow(/quorum mode has no state store/);
  });

  it('knows the names kv-node accepts', () => {
    expect(isStateBackend('lmdb')).toBe(true);
    expect(isStateBackend('memory')).toBe(true);
    expect(isStateBackend('rocksdb')).toBe(false);
  });
});

describe('chaos --backend', () => {
  it('reads the backend, and leaves it to kv-node when not given', () => {
    const lmdb = parseCommandLine(['--backend', 'lmdb'], '/kv/cli.js');
    expect(lmdb).toMatchObject({ kind: 'run', options: { backend: 'lmdb' } });
    const memory = parseCommandLine(['--backend=memory'], '/kv/cli.js');
    expect(memory).toMatchObject({ kind: 'run', options: { backend: 'memory' } });
    const unset = parseCommandLine([], '/kv/cli.js');
    expect(unset.kind === 'run' && 'backend' in unset.options).toBe(false);
  });

  it('refuses an unknown backend and lmdb in quorum mode, naming the flag', () => {
    expect(() => parseCommandLine(['--backend=rocksdb'], '')).toThrow(UsageError);
    expect(() => parseCommandLine(['--backend=rocksdb'], '')).toThrow(/--backend: "rocksdb"/);
    expect(() => parseCommandLine(['--backend=lmdb', '--replication=quorum'], '')).toThrow(
      /--backend lmdb: quorum mode/,
    );
  });
});
