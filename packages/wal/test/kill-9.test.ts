import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WriteAheadLog } from '../src/index.js';

// A real process appends in the default (group) mode and prints every index whose append
// resolved; the test SIGKILLs it mid-stream and checks that reopening shows every printed index.
// The child runs the package built into a temp dir (a plain `node` cannot load TypeScript).

const packageRoot = join(import.meta.dirname, '..');

const childScript = `
import { WriteAheadLog } from './index.js';
const log = await WriteAheadLog.open(process.argv[2], { maxSegmentBytes: 64 * 1024 });
const payloadOf = (index) => new TextEncoder().encode('entry-' + index + '-'.repeat(index % 50));
process.stdout.write('ready ' + log.lastIndex + '\\n');
let next = log.lastIndex + 1;
async function worker() {
  for (;;) {
    const index = next++;
    const appended = await log.append({ generation: 1, type: 7, payload: payloadOf(index) });
    if (appended !== index) throw new Error('index mismatch ' + appended + ' ' + index);
    process.stdout.write(index + '\\n');
  }
}
await Promise.all(Array.from({ length: 16 }, worker));
`;

describe('a real process killed with SIGKILL', () => {
  let workDirectory: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wal-kill9-'));
    await build({
      entry: { index: join(packageRoot, 'src/index.ts') },
      outDir: join(workDirectory, 'build'),
      format: ['esm'],
      platform: 'node',
      target: 'node22',
      config: false,
      silent: true,
      dts: false,
      sourcemap: false,
    });
    await writeFile(join(workDirectory, 'build/child.mjs'), childScript);
  }, 60_000);

  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(workDirectory, { recursive: true, force: true });
  });

  /** Runs the child until it has reported `stopAfter` indexes, then kills it; returns what it reported. */
  async function appendUntilKilled(dataDirectory: string, stopAfter: number): Promise<number[]> {
    const child = spawn(process.execPath, [join(workDirectory, 'build/child.mjs'), dataDirectory], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const reported: number[] = [];
    let stderr = '';
    let buffered = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        child.on('exit', (code, signal) => {
          if (signal === 'SIGKILL') resolve();
          else reject(new Error(`child exited early (${code}): ${stderr}`));
        });
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines) {
            if (line.startsWith('ready')) continue;
            reported.push(Number(line));
            if (reported.length === stopAfter) child.kill('SIGKILL');
          }
        });
      });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    return reported;
  }

  it('keeps every append the process saw resolve, across repeated kills', async () => {
    const dataDirectory = join(workDirectory, 'data');
    const allReported: number[] = [];
    for (let round = 0; round < 3; round++) {
      allReported.push(...(await appendUntilKilled(dataDirectory, 1500)));
      const log = await WriteAheadLog.open(dataDirectory);
      try {
        for (const index of allReported) expect(index).toBeLessThanOrEqual(log.lastIndex);
        let checked = 0;
        for await (const entry of log.entries()) {
          const expected = new TextEncoder().encode(
            `entry-${entry.index}${'-'.repeat(entry.index % 50)}`,
          );
          expect(entry.payload).toEqual(expected);
          expect(entry.type).toBe(7);
          checked++;
        }
        expect(checked).toBe(log.lastIndex);
        expect(log.segments().length).toBeGreaterThan(1);
      } finally {
        await log.close();
      }
    }
  }, 60_000);
});
