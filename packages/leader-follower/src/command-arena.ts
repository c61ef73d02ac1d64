const CHUNK_BYTES = 1024 * 1024;

interface Chunk {
  readonly bytes: Uint8Array;
  /** Bytes handed out from the start. */
  used: number;
  /** Copies handed out and not yet released. */
  live: number;
  /** No longer the chunk copies go to: free once `live` is 0. */
  sealed: boolean;
}

/**
 * Copies of commands that are held for a while and released oldest first (the payload window of
 * a recovered tail), packed into 1 MiB chunks that are reused once every copy in them is released.
 * Copying each command into its own allocation would allocate, and leave to the garbage collector,
 * as many buffers as the log has entries below the applied index, nearly all hollowed soon after.
 *
 * A copy is a view into a chunk: the holder must release it (or stop using the arena) before it
 * drops the view, and must copy it out before keeping it beyond the arena's use, since a released
 * chunk is written again. Commands larger than a quarter chunk get an allocation of their own.
 */
export class CommandArena {
  private current: Chunk | undefined;
  private readonly chunks = new Map<ArrayBufferLike, Chunk>();
  /** Emptied chunks kept for reuse (two: the window moves through them in turn). */
  private readonly spare: Chunk[] = [];

  /** A copy of `command`: a view into a chunk, or for a large command a buffer of its own. */
  copy(command: Uint8Array): Uint8Array {
    if (command.length > CHUNK_BYTES / 4) return command.slice();
    let chunk = this.current;
    if (chunk === undefined || chunk.used + command.length > chunk.bytes.length) {
      if (chunk !== undefined) {
        chunk.sealed = true;
        this.recycleIfFree(chunk);
      }
      chunk = this.spare.pop() ?? {
        bytes: new Uint8Array(CHUNK_BYTES),
        used: 0,
        live: 0,
        sealed: false,
      };
      chunk.used = 0;
      chunk.live = 0;
      chunk.sealed = false;
      this.chunks.set(chunk.bytes.buffer, chunk);
      this.current = chunk;
    }
    const copy = chunk.bytes.subarray(chunk.used, chunk.used + command.length);
    copy.set(command);
    chunk.used += command.length;
    chunk.live++;
    return copy;
  }

  /** True when `command` is a copy in one of this arena's chunks. */
  holds(command: Uint8Array): boolean {
    return this.chunks.has(command.buffer);
  }

  /** Gives back a copy made by `copy` (once), which the caller no longer uses. */
  release(command: Uint8Array): void {
    const chunk = this.chunks.get(command.buffer);
    if (chunk === undefined) return;
    chunk.live--;
    this.recycleIfFree(chunk);
  }

  private recycleIfFree(chunk: Chunk): void {
    if (!chunk.sealed || chunk.live > 0) return;
    this.chunks.delete(chunk.bytes.buffer);
    if (this.spare.length < 2) this.spare.push(chunk);
  }
}
