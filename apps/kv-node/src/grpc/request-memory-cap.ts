/**
 * A bound on the request bytes one gRPC connection may make the server hold. The server holds
 * each request message until it is whole, and a unary call's message until the client ends its
 * stream; with 1,024 streams of a message up to `--max-request-bytes` each, one connection could
 * make it hold 1,024 times that. This filter sits between the client's socket and the HTTP/2
 * server and counts, per connection, what the server may be holding: each message from its
 * 5-byte prefix, by the length the prefix announces, until the message is whole (and, for the
 * first message of a stream, until the client ends the stream or either side ends it), not the
 * bytes sent so far, so a client cannot send slowly to slip under the bound.
 *
 * A message that would take the count past the bound is refused before the server holds any of
 * it: its announced length is rewritten, in the prefix not yet forwarded, to one over the
 * server's message limit, which the server answers with RESOURCE_EXHAUSTED on that stream alone
 * (the other streams go on). Should a client cut a prefix across two DATA frames and the first
 * have gone on already, the connection is ended instead. Frames pass through otherwise
 * unchanged, in order, in the chunks they came in.
 */

import { Duplex } from 'node:stream';

const PREFACE_LENGTH = 24;
const FRAME_HEADER_LENGTH = 9;
const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;
const FRAME_RST_STREAM = 0x3;
const FLAG_END_STREAM = 0x1;
const FLAG_PADDED = 0x8;
const MESSAGE_PREFIX_LENGTH = 5;
/** A length no message limit reaches (4 GiB - 16 MiB and up), written to refuse a message. */
const REFUSED_LENGTH_HIGH_BYTE = 0xff;

/** What one stream's messages hold of the connection's bound. */
interface StreamHold {
  /** Bytes of the prefix being read (0 between messages). */
  prefixSeen: number;
  readonly prefix: Buffer;
  /** Where the prefix's first length byte is, if it is in the chunk being read. */
  lengthByte: { chunk: Buffer; offset: number } | undefined;
  /** Bytes of the current message still to come. */
  messageRemaining: number;
  /** The current message's announced length, counted in the bound (0 if not counted). */
  current: number;
  /** The stream's first whole message, counted until the stream ends. */
  first: number;
  firstDone: boolean;
  /**
   * The server has ended the call: nothing is counted for it, and the rest of what the client
   * sends on it (which the server discards) is not read as messages.
   */
  endedByServer: boolean;
}

/**
 * Most streams tracked at once. The server serves at most 1,024 at a time; the rest are streams
 * the server ended and the client has not yet reset or ended, which well-behaved clients do at
 * once. Past it the connection is ended, so the tracking itself stays bounded.
 */
const MAX_TRACKED_STREAMS = 4096;

/** The frame being read, in one direction. */
interface FrameCursor {
  header: Buffer;
  headerSeen: number;
  /** Payload bytes of the frame still to come. */
  remaining: number;
  type: number;
  flags: number;
  streamId: number;
  /** For a padded DATA frame: whether its pad length byte has been read, and the padding. */
  padLengthRead: boolean;
  padding: number;
}

function cursor(): FrameCursor {
  return {
    header: Buffer.alloc(FRAME_HEADER_LENGTH),
    headerSeen: 0,
    remaining: 0,
    type: 0,
    flags: 0,
    streamId: 0,
    padLengthRead: false,
    padding: 0,
  };
}

/**
 * Reads frame boundaries out of a byte stream, whatever its cut: calls `onFrame` when a frame's
 * header is whole and `onPayload` with each run of its payload, then `onFrameEnd`.
 */
function readFrames(
  state: FrameCursor,
  chunk: Buffer,
  start: number,
  handlers: {
    onFrame(frame: FrameCursor): void;
    onPayload(frame: FrameCursor, chunk: Buffer, from: number, to: number): void;
    onFrameEnd(frame: FrameCursor): void;
  },
): void {
  let offset = start;
  while (offset < chunk.length) {
    if (state.headerSeen < FRAME_HEADER_LENGTH) {
      const taken = Math.min(FRAME_HEADER_LENGTH - state.headerSeen, chunk.length - offset);
      chunk.copy(state.header, state.headerSeen, offset, offset + taken);
      state.headerSeen += taken;
      offset += taken;
      if (state.headerSeen < FRAME_HEADER_LENGTH) return;
      state.remaining = state.header.readUIntBE(0, 3);
      state.type = state.header[3] as number;
      state.flags = state.header[4] as number;
      state.streamId = state.header.readUInt32BE(5) & 0x7fffffff;
      state.padLengthRead = false;
      state.padding = 0;
      handlers.onFrame(state);
      if (state.remaining === 0) {
        handlers.onFrameEnd(state);
        state.headerSeen = 0;
      }
      continue;
    }
    const taken = Math.min(state.remaining, chunk.length - offset);
    handlers.onPayload(state, chunk, offset, offset + taken);
    state.remaining -= taken;
    offset += taken;
    if (state.remaining === 0) {
      handlers.onFrameEnd(state);
      state.headerSeen = 0;
    }
  }
}

/** See the file comment. Reads from and writes to `connection`; ends and closes with it. */
export class RequestMemoryCap extends Duplex {
  readonly #connection: Duplex;
  readonly #maxHeldBytes: number;
  readonly #maxMessageBytes: number;
  readonly #streams = new Map<number, StreamHold>();
  readonly #fromClient = cursor();
  readonly #fromServer = cursor();
  #prefaceSeen = 0;
  #held = 0;
  /** Streams whose prefix's first length byte is in the chunk being read. */
  readonly #rewritable: StreamHold[] = [];

  /**
   * @param connection the client's side (a socket, or a filter over one).
   * @param maxHeldBytes the bound, in bytes, on what the server may hold for this connection.
   * @param maxMessageBytes the server's limit on one message: longer ones it refuses itself,
   *   so they are not counted.
   */
  constructor(connection: Duplex, maxHeldBytes: number, maxMessageBytes: number) {
    super({ allowHalfOpen: true });
    this.#connection = connection;
    this.#maxHeldBytes = maxHeldBytes;
    this.#maxMessageBytes = maxMessageBytes;
    connection.on('data', (chunk: Buffer) => this.#onClientBytes(chunk));
    connection.on('end', () => this.push(null));
    connection.on('error', (error) => this.destroy(error));
    connection.on('close', () => this.destroy());
  }

  /** Bytes the server may be holding for this connection now (see the file comment). */
  get heldBytes(): number {
    return this.#held;
  }

  // The HTTP/2 server names the peer from these.
  get remoteAddress(): string | undefined {
    return (this.#connection as { remoteAddress?: string }).remoteAddress;
  }
  get remotePort(): number | undefined {
    return (this.#connection as { remotePort?: number }).remotePort;
  }
  get remoteFamily(): string | undefined {
    return (this.#connection as { remoteFamily?: string }).remoteFamily;
  }
  get localAddress(): string | undefined {
    return (this.#connection as { localAddress?: string }).localAddress;
  }
  get localPort(): number | undefined {
    return (this.#connection as { localPort?: number }).localPort;
  }

  override _read(): void {
    this.#connection.resume();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#onServerBytes(chunk);
    this.#send(chunk, callback);
  }

  // The HTTP/2 session writes a frame batch as several buffers at once: one write, as it would.
  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    for (const { chunk } of chunks) this.#onServerBytes(chunk);
    this.#send(
      chunks.length === 1
        ? (chunks[0]?.chunk as Buffer)
        : Buffer.concat(chunks.map(({ chunk }) => chunk)),
      callback,
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#connection.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#connection.destroy();
    this.#streams.clear();
    this.#held = 0;
    callback(error);
  }

  #send(bytes: Buffer, callback: (error?: Error | null) => void): void {
    if (this.#connection.write(bytes)) callback();
    else this.#connection.once('drain', () => callback());
  }

  #onClientBytes(chunk: Buffer): void {
    let start = 0;
    if (this.#prefaceSeen < PREFACE_LENGTH) {
      start = Math.min(PREFACE_LENGTH - this.#prefaceSeen, chunk.length);
      this.#prefaceSeen += start;
    }
    try {
      readFrames(this.#fromClient, chunk, start, {
        onFrame: () => undefined,
        onPayload: (frame, bytes, from, to) => this.#onClientPayload(frame, bytes, from, to),
        onFrameEnd: (frame) => {
          if (frame.type === FRAME_RST_STREAM) this.#forget(frame.streamId);
          else if (
            (frame.type === FRAME_DATA || frame.type === FRAME_HEADERS) &&
            (frame.flags & FLAG_END_STREAM) !== 0
          ) {
            // The client's request is complete: the call has it now, not a buffer.
            this.#forget(frame.streamId);
          }
        },
      });
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    // Prefix bytes in this chunk can no longer be rewritten once it is forwarded.
    for (const hold of this.#rewritable) hold.lengthByte = undefined;
    this.#rewritable.length = 0;
    if (!this.push(chunk)) this.#connection.pause();
  }

  #onServerBytes(chunk: Buffer): void {
    readFrames(this.#fromServer, chunk, 0, {
      onFrame: (frame) => {
        const ends =
          frame.type === FRAME_RST_STREAM ||
          ((frame.type === FRAME_DATA || frame.type === FRAME_HEADERS) &&
            (frame.flags & FLAG_END_STREAM) !== 0);
        // The server has ended the call: whatever it held for it is let go.
        if (ends) this.#endedByServer(frame.streamId);
      },
      onPayload: () => undefined,
      onFrameEnd: () => undefined,
    });
  }

  /** The client has ended or reset the stream: nothing more comes on it. */
  #forget(streamId: number): void {
    const hold = this.#streams.get(streamId);
    if (hold === undefined) return;
    this.#held -= hold.current + hold.first;
    this.#streams.delete(streamId);
  }

  #endedByServer(streamId: number): void {
    const hold = this.#streams.get(streamId);
    if (hold === undefined) return;
    this.#held -= hold.current + hold.first;
    hold.current = 0;
    hold.first = 0;
    hold.endedByServer = true;
  }

  #onClientPayload(frame: FrameCursor, chunk: Buffer, from: number, to: number): void {
    if (frame.type !== FRAME_DATA || frame.streamId === 0) return;
    let offset = from;
    if ((frame.flags & FLAG_PADDED) !== 0) {
      if (!frame.padLengthRead) {
        frame.padding = chunk[offset] as number;
        frame.padLengthRead = true;
        offset += 1;
      }
      // The padding is the frame's last bytes: after `remaining` minus it, none are data.
      const dataLeftInFrame = frame.remaining - (offset - from) - frame.padding;
      to = Math.min(to, offset + Math.max(0, dataLeftInFrame));
    }
    if (offset >= to) return;
    let hold = this.#streams.get(frame.streamId);
    if (hold === undefined) {
      hold = {
        prefixSeen: 0,
        prefix: Buffer.alloc(MESSAGE_PREFIX_LENGTH),
        lengthByte: undefined,
        messageRemaining: 0,
        current: 0,
        first: 0,
        firstDone: false,
        endedByServer: false,
      };
      if (this.#streams.size >= MAX_TRACKED_STREAMS) {
        throw new Error(`more than ${MAX_TRACKED_STREAMS} streams left open by the client`);
      }
      this.#streams.set(frame.streamId, hold);
    }
    if (hold.endedByServer) return;
    while (offset < to) {
      if (hold.messageRemaining > 0) {
        const taken = Math.min(hold.messageRemaining, to - offset);
        hold.messageRemaining -= taken;
        offset += taken;
        if (hold.messageRemaining === 0) this.#messageWhole(hold);
        continue;
      }
      if (hold.prefixSeen === 1) {
        hold.lengthByte = { chunk, offset };
        this.#rewritable.push(hold);
      }
      hold.prefix[hold.prefixSeen] = chunk[offset] as number;
      hold.prefixSeen += 1;
      offset += 1;
      if (hold.prefixSeen < MESSAGE_PREFIX_LENGTH) continue;
      hold.prefixSeen = 0;
      this.#messageStarts(hold, hold.prefix.readUInt32BE(1));
    }
  }

  #messageStarts(hold: StreamHold, length: number): void {
    const lengthByte = hold.lengthByte;
    hold.lengthByte = undefined;
    hold.messageRemaining = length;
    if (length > this.#maxMessageBytes) {
      // The server refuses it from its prefix alone and holds none of it.
      hold.current = 0;
    } else if (this.#held + length <= this.#maxHeldBytes) {
      hold.current = length;
      this.#held += length;
    } else if (lengthByte !== undefined) {
      lengthByte.chunk[lengthByte.offset] = REFUSED_LENGTH_HIGH_BYTE;
      hold.current = 0;
    } else {
      throw new Error('a request message past the connection bound, its prefix already sent');
    }
    if (length === 0) this.#messageWhole(hold);
  }

  #messageWhole(hold: StreamHold): void {
    if (!hold.firstDone) {
      // A unary call's message waits in the server for the end of the stream.
      hold.firstDone = true;
      hold.first = hold.current;
    } else {
      this.#held -= hold.current;
    }
    hold.current = 0;
  }
}
