import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const unitPath = fileURLToPath(new URL('systemd/kv-node.service', import.meta.url));
const unit = readFileSync(unitPath, 'utf8');

function hasSystemdAnalyze(): boolean {
  return spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
}

const verifyAvailable = hasSystemdAnalyze();
if (!verifyAvailable) {
  console.warn(
    'deploy: systemd-analyze not found; skipping `systemd-analyze verify` of kv-node.service',
  );
}

/** Values of a directive, in order (a unit may repeat one). */
function directive(name: string): string[] {
  return unit
    .split('\n')
    .filter((line) => line.startsWith(`${name}=`))
    .map((line) => line.slice(name.length + 1));
}

const scratch = mkdtempSync(join(tmpdir(), 'kv-node-unit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('systemd/kv-node.service', () => {
  it.skipIf(!verifyAvailable)('passes systemd-analyze verify', () => {
    // verify checks that ExecStart's program exists; where Node lives elsewhere than the unit's
    // /usr/bin/node, check a copy that points at this Node instead.
    const execStart = directive('ExecStart')[0]!;
    const program = execStart.split(' ')[0]!;
    const copy = join(scratch, 'kv-node.service');
    writeFileSync(
      copy,
      existsSync(program)
        ? unit
        : unit.replace(`ExecStart=${program}`, `ExecStart=${process.execPath}`),
    );
    const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    // verify prints problems of this unit on stderr prefixed by its name; other lines concern
    // the host's own units and are not ours to fix.
    const ours = result.stderr.split('\n').filter((line) => line.startsWith('kv-node.service'));
    expect(ours).toEqual([]);
    expect(result.status).toBe(0);
  });

  it('runs unprivileged and sandboxed, with its data under /var/lib', () => {
    expect(directive('DynamicUser')).toEqual(['yes']);
    expect(directive('StateDirectory')).toEqual(['kv-node']);
    expect(directive('Environment')).toContain('KV_NODE_DATA_DIR=/var/lib/kv-node');
    for (const setting of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'PrivateDevices']) {
      expect(directive(setting), setting).toEqual(['yes']);
    }
    expect(directive('ProtectSystem')).toEqual(['strict']);
    expect(directive('CapabilityBoundingSet')).toEqual(['']);
  });

  it('stops gracefully and does not restart after a configuration error', () => {
    expect(directive('KillSignal')).toEqual(['SIGTERM']);
    expect(directive('Restart')).toEqual(['on-failure']);
    expect(directive('RestartPreventExitStatus')).toEqual(['2']);
  });

  it('scores as well sandboxed by systemd-analyze security where available', () => {
    if (!verifyAvailable) return;
    const copy = join(scratch, 'kv-node.service');
    if (!existsSync(copy)) writeFileSync(copy, unit);
    const result = spawnSync('systemd-analyze', ['security', '--offline=true', copy], {
      encoding: 'utf8',
    });
    // --offline needs systemd 250+; older versions cannot score a unit that is not loaded.
    if (result.status !== 0 && /offline/.test(result.stderr)) return;
    const score = /Overall exposure level for kv-node\.service: ([\d.]+)/.exec(result.stdout);
    expect(score, result.stdout + result.stderr).not.toBeNull();
    expect(Number(score![1])).toBeLessThan(3);
  });
});
