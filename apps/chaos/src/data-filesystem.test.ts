import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataFilesystem, dataFilesystemAvailable } from './data-filesystem.js';

const mountable = dataFilesystemAvailable();
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

// Needs root (mount); elsewhere the disk-full fault is skipped with a notice, and so is this.
describe.runIf(mountable)('DataFilesystem', () => {
  it('fills so that writes fail with ENOSPC, and frees so that they succeed again', () => {
    const parent = mkdtempSync(join(tmpdir(), 'chaos-fs-test-'));
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    const filesystem = new DataFilesystem(join(parent, 'data'), 8 * 1024 * 1024);
    filesystem.mount();
    cleanups.push(() => filesystem.unmount());
    const file = join(filesystem.directory, 'wal');
    writeFileSync(file, Buffer.alloc(100_000, 1));
    filesystem.fill();
    expect(() => appendFileSync(file, Buffer.alloc(256 * 1024, 2))).toThrow(/ENOSPC/);
    expect(() =>
      writeFileSync(join(filesystem.directory, 'other'), Buffer.alloc(256 * 1024, 3)),
    ).toThrow(/ENOSPC/);
    filesystem.free();
    appendFileSync(file, Buffer.alloc(256 * 1024, 2));
  });

  it('refuses to fill what it has not mounted', () => {
    const filesystem = new DataFilesystem(join(tmpdir(), 'chaos-never-mounted'));
    expect(() => filesystem.fill()).toThrow(/no tmpfs mounted/);
  });
});
