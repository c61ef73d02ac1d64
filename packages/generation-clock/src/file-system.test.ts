// The port must stay structurally identical to @x/wal's, so that one file system object serves
// both packages (and the simulator's disk serves all of them).
import type { FileSystem as WalFileSystem, NodeFileSystem as WalNodeFileSystem } from '@x/wal';
import type { FaultFileSystem } from '@x/wal/testing';
import { describe, expectTypeOf, it } from 'vitest';
import type { FileSystem } from './file-system.js';
import type { NodeFileSystem } from './node-file-system.js';

describe('the FileSystem port', () => {
  it("is satisfied by @x/wal's file systems, and ours by the same member signatures", () => {
    expectTypeOf<WalFileSystem>().toExtend<FileSystem>();
    expectTypeOf<FaultFileSystem>().toExtend<FileSystem>();
    expectTypeOf<WalNodeFileSystem>().toExtend<FileSystem>();
    expectTypeOf<Pick<WalFileSystem, keyof FileSystem>>().toEqualTypeOf<
      Pick<FileSystem, keyof FileSystem>
    >();
    // Checked by the type checker (`pnpm typecheck`); the behaviour is node-file-system.test.ts's.
    expectTypeOf<NodeFileSystem>().toExtend<FileSystem>();
  });
});
