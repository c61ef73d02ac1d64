/**
 * Accepts the `:authority` etcd accepts. etcd 3.4's clients (etcdctl, clientv3) dial
 * `--endpoints=http://host:port` with the whole endpoint as the request's `:authority`, scheme
 * and slashes included. etcd's Go HTTP/2 server takes it; nghttp2, under Node's HTTP/2 server,
 * checks `:authority` against RFC 3986's characters and resets the stream with PROTOCOL_ERROR,
 * with no option to turn the check off. So a plain gRPC connection is handed to the gRPC server through
 * this filter, which reads the client's first header block: when its `:authority` passes
 * nghttp2's check, every later byte is passed through untouched. When it does not, the filter
 * decodes every header block of the connection (HPACK, keeping the client's dynamic table),
 * replaces the `:authority` with one nghttp2 accepts (the endpoint's `host:port`), and writes the
 * block again without the dynamic table, so the server's table never disagrees with what the
 * client encoded. Bytes from the server to the client pass through untouched.
 */

import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { HpackDecoder, HpackError, encodeHeaderBlock } from './hpack.js';
import type { HeaderField } from './hpack.js';

const PREFACE_LENGTH = 24;
const FRAME_HEADER_LENGTH = 9;
const FRAME_HEADERS = 0x1;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** The largest frame every HTTP/2 receiver accepts (RFC 9113 §4.2); what this filter writes. */
const MIN_MAX_FRAME_SIZE = 16_384;
/**
 * Most bytes of one header block (compressed) and of its decoded list that the filter holds.
 * Node's HTTP/2 server refuses header lists over 64 KiB itself; a gRPC request's headers are a
 * few hundred bytes.
 */
const MAX_HEADER_BLOCK_BYTES = 65_536;
const MAX_HEADER_LIST_BYTES = 65_536;

/** Characters nghttp2 allows in `:authority` (RFC 3986's authority: host, port, userinfo). */
const VALID_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:%@[\]]*$/;

/** Whether nghttp2 would accept `authority` as a request's `:authority`. */
export function isAcceptedAuthority(authority: string): boolean {
  return VALID_AUTHORITY.test(authority);
}

/**
 * An `:authority` nghttp2 accepts for one it would refuse: the `host:port` of a URL
 * (`http://127.0.0.1:2379` gives `127.0.0.1:2379`), otherwise the value with each refused byte
 * percent-encoded.
 */
export function acceptedAuthority(authority: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(authority)) {
    try {
      const host = new URL(authority).host;
      if (host !== '' && isAcceptedAuthority(host)) return host;
    } catch {
      // not a URL after all: percent-encode below
    }
  }
  let accepted = '';
  for (const character of authority) {
    accepted += isAcceptedAuthority(character)
      ? character
      : [...Buffer.from(character, 'latin1')]
          .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
          .join('');
  }
  return accepted;
}

type Mode = 'first-block' | 'pass' | 'rewrite';

/**
 * The client side of a plain HTTP/2 connection as the gRPC server should see it (see the file
 * comment).
 * Reads from and writes to `socket`; ends, errors and closes with it.
 */
class AuthorityFilter extends Duplex {
  readonly #socket: Socket;
  readonly #decoder = new HpackDecoder();
  #mode: Mode = 'first-block';
  /** Client bytes not yet forwarded: the preface or a frame not yet whole. */
  #pending: Buffer = Buffer.alloc(0);
  #prefaceSeen = false;
  /** The HEADERS frame and CONTINUATION fragments of the block being read. */
  #block: { frames: Buffer[]; fragments: Buffer[]; bytes: number } | undefined;

  constructor(socket: Socket) {
    super({ allowHalfOpen: true });
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#fromClient(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
  }

  // The gRPC server names the peer from these.
  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.#socket.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.#socket.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.#socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.#socket.localPort;
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#send(chunk, callback);
  }

  #send(bytes: Buffer, callback: (error?: Error | null) => void): void {
    if (this.#socket.write(bytes)) callback();
    else this.#socket.once('drain', () => callback());
  }

  // Node's HTTP/2 session writes a frame batch as several buffers at once (corked): handed to the
  // socket in one write, they leave in one system call, as from a session on the socket itself.
  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    const batch =
      chunks.length === 1
        ? (chunks[0]?.chunk as Buffer)
        : Buffer.concat(chunks.map(({ chunk }) => chunk));
    this.#send(batch, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy();
    callback(error);
  }

  #forward(bytes: Buffer): void {
    if (bytes.length > 0 && !this.push(bytes)) this.#socket.pause();
  }

  #fromClient(chunk: Buffer): void {
    if (this.#mode === 'pass') {
      this.#forward(chunk);
      return;
    }
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    try {
      this.#readFrames();
    } catch (error) {
      // Only in rewrite mode: the connection's header state is lost, as nghttp2's would be on
      // a COMPRESSION_ERROR, and the connection ends.
      this.destroy(error as Error);
    }
  }

  #readFrames(): void {
    if (!this.#prefaceSeen) {
      if (this.#pending.length < PREFACE_LENGTH) return;
      this.#forward(this.#pending.subarray(0, PREFACE_LENGTH));
      this.#pending = this.#pending.subarray(PREFACE_LENGTH);
      this.#prefaceSeen = true;
    }
    while (this.#mode !== 'pass' && this.#pending.length >= FRAME_HEADER_LENGTH) {
      const length = this.#pending.readUIntBE(0, 3);
      const type = this.#pending[3] as number;
      // A frame over the size the server announced, or anything but a CONTINUATION inside a
      // header block, is a connection error the server reports: pass the connection on to it
      // as it came. Once rewriting, the client's header state is in this filter: end it here.
      const misplaced = this.#block !== undefined && type !== FRAME_CONTINUATION;
      if (length > MIN_MAX_FRAME_SIZE || misplaced) {
        if (this.#mode === 'rewrite') throw new Error('HTTP/2 framing error from the client');
        this.#passFromHere();
        return;
      }
      if (this.#pending.length < FRAME_HEADER_LENGTH + length) return;
      const frame = this.#pending.subarray(0, FRAME_HEADER_LENGTH + length);
      this.#pending = this.#pending.subarray(FRAME_HEADER_LENGTH + length);
      if (type === FRAME_HEADERS || (type === FRAME_CONTINUATION && this.#block !== undefined)) {
        this.#onHeaderFrame(frame);
      } else {
        this.#forward(frame);
      }
    }
  }

  /** Ends the connection (rewriting) or passes it on as it came, from `frame` on (reading the first block). */
  #refuseBlock(frame: Buffer, reason: string): void {
    if (this.#mode === 'rewrite') throw new Error(reason);
    this.#block = { frames: [...(this.#block?.frames ?? []), frame], fragments: [], bytes: 0 };
    this.#passFromHere();
  }

  /** Stops reading frames: the rest of the connection goes to the server untouched. */
  #passFromHere(): void {
    const held = [...(this.#block?.frames ?? []), this.#pending];
    this.#block = undefined;
    this.#pending = Buffer.alloc(0);
    this.#mode = 'pass';
    for (const bytes of held) this.#forward(bytes);
  }

  #onHeaderFrame(frame: Buffer): void {
    const flags = frame[4] as number;
    const payload = frame.subarray(FRAME_HEADER_LENGTH);
    let fragment = payload;
    if (frame[3] === FRAME_HEADERS) {
      let start = 0;
      let padding = 0;
      if (flags & FLAG_PADDED) {
        padding = payload[0] ?? 0;
        start = 1;
      }
      if (flags & FLAG_PRIORITY) start += 5;
      if (start + padding > payload.length) {
        this.#refuseBlock(frame, 'HEADERS frame shorter than its padding');
        return;
      }
      fragment = payload.subarray(start, payload.length - padding);
      this.#block = { frames: [], fragments: [], bytes: 0 };
    }
    const block = this.#block as { frames: Buffer[]; fragments: Buffer[]; bytes: number };
    if (block.bytes + fragment.length > MAX_HEADER_BLOCK_BYTES) {
      this.#refuseBlock(frame, 'header block too large');
      return;
    }
    block.frames.push(frame);
    block.fragments.push(fragment);
    block.bytes += fragment.length;
    if ((flags & FLAG_END_HEADERS) === 0) return;
    this.#block = undefined;
    this.#onHeaderBlock(block.frames, Buffer.concat(block.fragments));
  }

  #onHeaderBlock(frames: Buffer[], block: Buffer): void {
    let fields: HeaderField[];
    try {
      fields = this.#decoder.decode(block, MAX_HEADER_LIST_BYTES);
    } catch (error) {
      if (!(error instanceof HpackError) || this.#mode !== 'first-block') throw error;
      // Not valid HPACK: the server answers it as it would without this filter.
      const last = frames.pop() as Buffer;
      this.#block = { frames, fragments: [], bytes: 0 };
      this.#refuseBlock(last, error.message);
      return;
    }
    const needsRewrite = fields.some(
      ([name, value]) => name === ':authority' && !isAcceptedAuthority(value),
    );
    if (this.#mode === 'first-block' && !needsRewrite) {
      for (const frame of frames) this.#forward(frame);
      this.#passFromHere();
      return;
    }
    this.#mode = 'rewrite';
    const first = frames[0] as Buffer;
    const rewritten = encodeHeaderBlock(
      fields.map(([name, value]): HeaderField =>
        name === ':authority' && !isAcceptedAuthority(value)
          ? [name, acceptedAuthority(value)]
          : [name, value],
      ),
    );
    const flags = first[4] as number;
    // Padding is dropped; the priority fields are kept as they were.
    const priority =
      flags & FLAG_PRIORITY
        ? first.subarray(
            FRAME_HEADER_LENGTH + (flags & FLAG_PADDED ? 1 : 0),
            FRAME_HEADER_LENGTH + (flags & FLAG_PADDED ? 1 : 0) + 5,
          )
        : Buffer.alloc(0);
    this.#forward(
      headerFrames(
        first.readUInt32BE(5),
        flags & (FLAG_END_STREAM | FLAG_PRIORITY),
        priority,
        rewritten,
      ),
    );
  }
}

/** A HEADERS frame, then CONTINUATION frames, carrying `block` within the minimum frame size. */
function headerFrames(streamId: number, flags: number, priority: Buffer, block: Buffer): Buffer {
  const frames: Buffer[] = [];
  let offset = 0;
  let first = true;
  do {
    const room = MIN_MAX_FRAME_SIZE - (first ? priority.length : 0);
    const fragment = block.subarray(offset, offset + room);
    offset += fragment.length;
    const last = offset >= block.length;
    const header = Buffer.alloc(FRAME_HEADER_LENGTH);
    header.writeUIntBE(fragment.length + (first ? priority.length : 0), 0, 3);
    header[3] = first ? FRAME_HEADERS : FRAME_CONTINUATION;
    header[4] = (first ? flags : 0) | (last ? FLAG_END_HEADERS : 0);
    header.writeUInt32BE(streamId, 5);
    frames.push(header, first ? priority : Buffer.alloc(0), fragment);
    first = false;
  } while (offset < block.length);
  return Buffer.concat(frames);
}

/**
 * Wraps a plain HTTP/2 connection so that a request whose `:authority` nghttp2 would refuse (an
 * etcd client's `http://host:port`) is served as etcd serves it (see the file comment). Hand the
 * result to the gRPC server instead of `socket`.
 */
export function acceptEtcdAuthority(socket: Socket): Duplex {
  return new AuthorityFilter(socket);
}
