import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Room each member's data file system has while it is not full: a tmpfs takes memory only for
 * what is written, so this is a ceiling (a 60 s run writes a few MB; a 30-minute run some
 * hundreds), not a reservation.
 */
export const defaultDataFilesystemBytes = 2 * 1024 * 1024 * 1024;

/**
 * A member's data directory on its own small file system, so that it alone can run out of
 * space: a tmpfs mounted on the directory (needs root, or CAP_SYS_ADMIN, and `mount`). Filling
 * it shrinks the tmpfs to what is in use (nothing is written to fill it, so a fault costs no
 * memory); freeing it grows it back. Every operation is a synchronous `mount` call.
 */
export class DataFilesystem {
  private mounted = false;

  /**
   * @param directory the member's data directory (created if missing; must be empty).
   * @param sizeBytes ceiling of the tmpfs when not full (default {@link defaultDataFilesystemBytes}).
   */
  constructor(
    readonly directory: string,
    private readonly sizeBytes = defaultDataFilesystemBytes,
  ) {}

  /** Mounts the tmpfs on the directory. @throws Error (with mount's message) if it cannot. */
  mount(): void {
    mkdirSync(this.directory, { recursive: true });
    runMount(['-t', 'tmpfs', '-o', `size=${this.sizeBytes},mode=0700`, 'tmpfs', this.directory]);
    this.mounted = true;
  }

  /**
   * Leaves (almost) no free space: the tmpfs shrinks to the pages in use plus a few, so the
   * member's writes fail with ENOSPC within a few KiB. @throws Error if it is not mounted or mount fails.
   */
  fill(): void {
    this.requireMounted();
    // The member writes while this runs: a size below what is in use by the time mount asks is
    // refused (EINVAL), so leave a few pages of slack and, if refused, measure again with more.
    let lastError: unknown;
    for (let attempt = 1; attempt <= 8; attempt++) {
      const stats = statfsSync(this.directory);
      const usedPages = stats.blocks - stats.bfree;
      try {
        runMount(['-o', `remount,size=${(usedPages + 4 * attempt) * stats.bsize}`, this.directory]);
        return;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /** Gives the space back (the ceiling it was mounted with). @throws Error if mount fails. */
  free(): void {
    this.requireMounted();
    runMount(['-o', `remount,size=${this.sizeBytes}`, this.directory]);
  }

  /**
   * Unmounts it (its files go with it); the caller stops the member first. Never throws: an
   * unmount that fails (a process still holds a file) is retried lazily.
   */
  unmount(): void {
    if (!this.mounted) return;
    this.mounted = false;
    try {
      runMount([this.directory], 'umount');
    } catch {
      try {
        runMount(['-l', this.directory], 'umount');
      } catch {
        // Nothing more to do: the mount point stays until the next reboot.
      }
    }
  }

  private requireMounted(): void {
    if (!this.mounted) throw new Error(`${this.directory} has no tmpfs mounted`);
  }
}

/**
 * Whether a tmpfs can be mounted here (root, `mount` installed, no container forbidding it):
 * mounts one on a scratch folder, then unmounts it.
 */
export function dataFilesystemAvailable(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'chaos-mount-probe-'));
  const filesystem = new DataFilesystem(probe, 1024 * 1024);
  try {
    filesystem.mount();
    filesystem.fill();
    filesystem.free();
    return true;
  } catch {
    return false;
  } finally {
    filesystem.unmount();
    rmSync(probe, { recursive: true, force: true });
  }
}

function runMount(args: readonly string[], command = 'mount'): void {
  try {
    execFileSync(command, [...args], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `${command} ${args.join(' ')} failed: ${stderr === undefined || stderr === '' ? String(error) : stderr}`,
    );
  }
}
