/**
 * `Maintenance.Snapshot`: this member's whole state as a stream of blobs that `etcdctl snapshot
 * save` writes to a file, framed as a kv-node backup (`node/backup-file.ts`: kv-node's own
 * snapshot format with etcd's 512-byte blocks and trailing SHA-256; kv-node restores it, etcd
 * cannot). The state is captured when the call starts and encoded while it is sent.
 */

import type { ServerWritableStream } from '@grpc/grpc-js';
import type { ApiContext } from '../http/api-context.js';
import type { JsonBody } from '../http/etcd-json.js';
import { responseHeader } from '../http/etcd-json.js';
import { responseHeaderSource } from '../http/response-header-source.js';
import { backupChunks } from '../node/backup-file.js';
import { credentialsOf, statusOf } from './grpc-call.js';

/** Most blob bytes in one response (etcd sends 32 KiB; a little more costs nothing). */
export const SNAPSHOT_BLOB_BYTES = 64 * 1024;

/** Resolves once `call` can take more writes, or has ended. */
function writable(call: ServerWritableStream<unknown, JsonBody>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('close', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('close', done);
    call.on('cancelled', done);
  });
}

/** `chunks` cut into pieces of at most `most` bytes (views, not copies). */
function* pieces(chunks: Iterable<Uint8Array>, most: number): Generator<Uint8Array> {
  for (const chunk of chunks) {
    for (let start = 0; start < chunk.byteLength; start += most) {
      yield chunk.subarray(start, Math.min(chunk.byteLength, start + most));
    }
  }
}

/**
 * The Snapshot handler: the first response carries the header (the revision the state was
 * captured at), each carries a blob; writes wait for the client to read (bounded memory). Needs
 * an admin when auth is on, as in etcd. `remaining_bytes` is left 0: the state is encoded while
 * it is sent, so its size is not known ahead (etcd's 3.4 clients do not read it).
 */
export function snapshotStream(
  context: ApiContext,
): (call: ServerWritableStream<unknown, JsonBody>) => void {
  return (call) => {
    let ended = false;
    const stop = (): void => {
      ended = true;
    };
    call.on('cancelled', stop);
    call.on('close', stop);
    const send = async (): Promise<void> => {
      context.auth.authorizeAdmin(context.backend.auth, credentialsOf(call));
      const backend = context.backend;
      const header = responseHeader(responseHeaderSource(backend), backend.store.revision);
      const chunks = backend.snapshotChunks?.();
      if (chunks === undefined) throw new Error('this member has no state machine to snapshot');
      let first = true;
      for (const blob of pieces(backupChunks(chunks), SNAPSHOT_BLOB_BYTES)) {
        if (ended) return;
        const response: JsonBody = first
          ? { header, blob: Buffer.from(blob) }
          : { blob: Buffer.from(blob) };
        first = false;
        if (!call.write(response)) await writable(call);
      }
      if (!ended) call.end();
    };
    send().catch((error: unknown) => {
      if (ended) return;
      ended = true;
      call.emit('error', statusOf(context, error, call.getPath()));
    });
  };
}
