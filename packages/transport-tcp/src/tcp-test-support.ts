// Test support (not exported): starts small clusters on loopback and waits for conditions.
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { FrameDecoder } from './frame-decoder.js';
import {
  ControlType,
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FrameFlags,
  writeFrameHeader,
} from './frame.js';
import {
  computeProof,
  decodeChallenge,
  decodeHello,
  decodeProof,
  encodeChallenge,
  encodeHello,
  encodeProof,
  INCARNATION_BYTES,
  NONCE_BYTES,
  transcriptOf,
} from './handshake.js';
import { RecordSealer } from './record-sealer.js';
import { deriveSessionKeys } from './session-keys.js';
import { TcpTransport, type PeerAddress, type TcpTransportOptions } from './tcp-transport.js';

/** The shared secret used by test clusters. */
export const TEST_SECRET = 'test-cluster-secret';

/** Starts transports for `ids` on 127.0.0.1 (random ports) and tells each dialer its peers' ports. */
export async function startCluster(
  ids: string[],
  overrides: Partial<TcpTransportOptions> = {},
  route: (target: TcpTransport) => PeerAddress | Promise<PeerAddress> = (target) => target.address,
): Promise<TcpTransport[]> {
  const peers = Object.fromEntries(ids.map((id) => [id, undefined]));
  const transports = await Promise.all(
    ids.map((nodeId) =>
      TcpTransport.start({
        nodeId,
        clusterId: 'test',
        secret: TEST_SECRET,
        peers,
        reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
        ...overrides,
      }),
    ),
  );
  for (const transport of transports) {
    for (const other of transports) {
      if (other !== transport && other.nodeId > transport.nodeId) {
        transport.setPeerAddress(other.nodeId, await route(other));
      }
    }
  }
  return transports;
}

/** Waits until `condition()` holds, polling every few milliseconds; throws after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Resolves once every pair of transports is connected. */
export async function waitConnected(transports: TcpTransport[]): Promise<void> {
  await waitFor(
    () => transports.every((a) => transports.every((b) => a === b || a.isConnected(b.nodeId))),
    5000,
    'connections',
  );
}

/** Encodes one frame (header + payload) for raw-socket tests. */
export function encodeFrame(
  flags: number,
  type: number,
  correlation: number,
  payload: Uint8Array,
): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  writeFrameHeader(frame, 0, payload.byteLength, flags, type, correlation);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Opens a raw socket to `port` on loopback. */
export function openRaw(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the socket is closed by the other side (or errors). */
export function closedBy(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    socket.once('close', () => resolve());
  });
}

/** Reads frames from a raw socket, for hand-driven handshakes. */
export function frameReader(
  socket: Socket,
): () => Promise<{ flags: number; type: number; payload: Buffer }> {
  const frames: { flags: number; type: number; payload: Buffer }[] = [];
  const waiting: (() => void)[] = [];
  const decoder = new FrameDecoder(
    DEFAULT_MAX_FRAME_BYTES,
    (flags, type, _correlation, payload) => {
      frames.push({ flags, type, payload });
      waiting.shift()?.();
    },
  );
  socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  return async () => {
    while (frames.length === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    return frames.shift()!;
  };
}

const sealers = new WeakMap<Socket, RecordSealer>();

/** Writes `bytes` (whole frames) on a socket authenticated by {@link rawDial}, sealed as a record. */
export function writeSealed(socket: Socket, bytes: Uint8Array): void {
  const sealer = sealers.get(socket);
  if (sealer === undefined) throw new Error('writeSealed: socket was not authenticated by rawDial');
  for (const piece of sealer.seal([bytes])) socket.write(piece);
}

/**
 * Runs the dialer's side of the handshake by hand from `dialerId` to the acceptor `acceptorId`
 * listening on `port`, with `proofOverride` replacing the real proof. Resolves with the socket
 * after the welcome (then {@link writeSealed} writes on it), or after sending the proof when the
 * acceptor is expected to refuse.
 */
export async function rawDial(
  port: number,
  dialerId: string,
  acceptorId: string,
  options: { clusterId?: string; secret?: string; proofOverride?: Uint8Array } = {},
): Promise<Socket> {
  const socket = await openRaw(port);
  const next = frameReader(socket);
  const hello = {
    clusterId: options.clusterId ?? 'test',
    dialerId,
    acceptorId,
    dialerNonce: randomBytes(NONCE_BYTES),
    dialerIncarnation: randomBytes(INCARNATION_BYTES),
  };
  socket.write(encodeFrame(FrameFlags.control, ControlType.hello, 0, encodeHello(hello)));
  const first = await Promise.race([next(), closedBy(socket).then(() => undefined)]);
  if (first === undefined) return socket;
  const transcript = transcriptOf(hello, decodeChallenge(first.payload));
  const secret = Buffer.from(options.secret ?? TEST_SECRET);
  const progress = { knowsYou: false, lastSequence: 0 };
  const proof = options.proofOverride ?? computeProof(secret, 'dialer', transcript, progress);
  socket.write(
    encodeFrame(FrameFlags.control, ControlType.proof, 0, encodeProof({ proof, ...progress })),
  );
  if (options.proofOverride === undefined) {
    const welcome = await Promise.race([next(), closedBy(socket).then(() => undefined)]);
    if (welcome !== undefined) {
      sealers.set(socket, new RecordSealer(deriveSessionKeys(secret, transcript).dialerToAcceptor));
    }
  }
  return socket;
}

/**
 * A hand-driven acceptor: listens, completes the acceptor's handshake for `acceptorId` and then
 * never reads again (a slow reader). Resolves with the server; `connected` fires once.
 */
export async function slowReaderPeer(
  acceptorId: string,
): Promise<{ port: number; connected: Promise<Socket>; close(): Promise<void> }> {
  let onConnected: (socket: Socket) => void = () => {};
  const connected = new Promise<Socket>((resolve) => (onConnected = resolve));
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const next = frameReader(socket);
    void (async () => {
      const hello = decodeHello((await next()).payload);
      const challenge = {
        acceptorId,
        acceptorNonce: randomBytes(NONCE_BYTES),
        acceptorIncarnation: randomBytes(INCARNATION_BYTES),
      };
      socket.write(
        encodeFrame(FrameFlags.control, ControlType.challenge, 0, encodeChallenge(challenge)),
      );
      decodeProof((await next()).payload);
      const progress = { knowsYou: false, lastSequence: 0 };
      const proof = computeProof(
        Buffer.from(TEST_SECRET),
        'acceptor',
        transcriptOf(hello, challenge),
        progress,
      );
      socket.write(
        encodeFrame(
          FrameFlags.control,
          ControlType.welcome,
          0,
          encodeProof({ proof, ...progress }),
        ),
      );
      socket.pause();
      socket.removeAllListeners('data');
      onConnected(socket);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    connected,
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** A TCP proxy to `targetPort` whose live connections can be cut, for partition tests. */
export async function startCuttableProxy(
  targetPort: number,
): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const pairs = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port: targetPort });
    pairs.add(inbound).add(outbound);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const drop = (): void => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(inbound);
      pairs.delete(outbound);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      for (const socket of pairs) socket.destroy();
    },
    close: async () => {
      for (const socket of pairs) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
