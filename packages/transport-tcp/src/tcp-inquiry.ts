/**
 * The inquirer's side of an inquiry: one question to a transport that is not this process's peer
 * yet. A member joining a running cluster knows the shared secret and where some members listen,
 * but neither the cluster id nor the node ids the handshake names, so it cannot open a peer
 * connection; it asks one of them instead, as etcd's joining member asks its peers for the
 * member list before it starts.
 *
 * On the wire it is the handshake's first three messages with an `inquiry` in place of the hello
 * (empty cluster and acceptor ids, so its proof is worth nothing as a peer's), then one `answer`
 * frame, MAC'd with the secret over the transcript and the answer, after which the acceptor
 * closes. Nothing is sealed: the answer is authenticated, not secret (peer TLS, if used, hides it).
 */

import { TransportError } from './errors.js';
import { FrameDecoder } from './frame-decoder.js';
import { ControlType, encodeControlFrame, FrameFlags } from './frame.js';
import {
  computeAnswerProof,
  computeProof,
  decodeChallenge,
  encodeHello,
  encodeProof,
  MAX_HANDSHAKE_PAYLOAD_BYTES,
  NONCE_BYTES,
  PROOF_BYTES,
  proofMatches,
  transcriptOf,
  type Hello,
  type Transcript,
} from './handshake.js';
import { secureRandomBytes } from './node-random.js';
import { dialSocket, secretBytes } from './tcp-dial.js';
import type { PeerAddress, TlsOptions } from './tcp-transport.js';

/** Options of {@link inquire}. Durations are in milliseconds, sizes in bytes. */
export interface InquiryOptions {
  /** Where the transport to ask listens. */
  address: PeerAddress;
  /** The shared cluster secret (as the transports to ask were given it). */
  secret: string | Uint8Array;
  /** Who asks, for the acceptor's log (at most 255 UTF-8 bytes); it is not checked. */
  inquirerId: string;
  /** Mutual TLS, when the transports use it. */
  tls?: TlsOptions;
  /** Time allowed for the whole exchange. Default 2,000 ms. */
  timeoutMs?: number;
  /** The largest answer read; a larger one fails the inquiry unread. Default 64 KiB. */
  maxAnswerBytes?: number;
  /** Random bytes for the nonce. Default: `crypto.randomBytes`. */
  randomBytes?: (length: number) => Uint8Array;
}

/** An inquiry got no authenticated answer: unreachable, refused, too slow, too large or forged. */
export class InquiryFailedError extends TransportError {
  /** The address asked. */
  readonly address: PeerAddress;

  constructor(address: PeerAddress, reason: string) {
    super('INQUIRY_FAILED', `inquiry to ${address.host}:${address.port} failed: ${reason}`);
    this.address = address;
  }
}

const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Asks the transport at `options.address` its answer to an inquiry (see
 * `TcpTransportOptions.answerInquiry`), proving the secret first.
 *
 * @returns the answer, authenticated as coming from a holder of the secret
 * @throws (rejects) {@link InquiryFailedError} when the transport cannot be reached, refuses
 *   (it answers no inquiries, or does not share the secret), sends a frame other than the
 *   expected ones or an answer larger than `maxAnswerBytes`, fails the MAC, or takes longer than
 *   `timeoutMs`
 */
export function inquire(options: InquiryOptions): Promise<Uint8Array> {
  const secret = secretBytes(options.secret);
  const randomBytes = options.randomBytes ?? secureRandomBytes;
  const maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const { address, tls } = options;
  return new Promise((resolve, reject) => {
    const { socket, readyEvent } = dialSocket(address, tls);
    let settled = false;
    const finish = (error: Error | undefined, answer?: Uint8Array): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      decoder.stop();
      socket.destroy();
      if (error === undefined) resolve(answer!);
      else reject(error);
    };
    const fail = (reason: string): void => finish(new InquiryFailedError(address, reason));
    const timer = setTimeout(
      () => fail(`no answer within ${options.timeoutMs ?? 2000} ms`),
      options.timeoutMs ?? 2000,
    );
    const hello: Hello = {
      clusterId: '',
      dialerId: options.inquirerId,
      acceptorId: '',
      dialerNonce: randomBytes(NONCE_BYTES),
      // An inquirer keeps no stream, so it has no incarnation to name.
      dialerIncarnation: new Uint8Array(8),
    };
    let transcript: Transcript | undefined;
    const decoder = new FrameDecoder(MAX_HANDSHAKE_PAYLOAD_BYTES, (flags, type, _id, payload) => {
      if (flags !== FrameFlags.control) return fail('a data frame before the answer');
      if (transcript === undefined && type === ControlType.challenge) {
        transcript = transcriptOf(hello, decodeChallenge(payload));
        const progress = { knowsYou: false, lastSequence: 0 };
        const proof = computeProof(secret, 'inquirer', transcript, progress);
        socket.write(encodeControlFrame(ControlType.proof, encodeProof({ proof, ...progress })));
        // Only the answer may be larger than a handshake message, and only up to the bound.
        decoder.setMaxPayloadBytes(PROOF_BYTES + maxAnswerBytes);
        return;
      }
      if (transcript !== undefined && type === ControlType.answer) {
        if (payload.length < PROOF_BYTES) return fail('a truncated answer');
        const answer = new Uint8Array(payload.subarray(PROOF_BYTES));
        const expected = computeAnswerProof(secret, transcript, answer);
        if (!proofMatches(expected, payload.subarray(0, PROOF_BYTES))) {
          return fail('the answer failed authentication (another secret?)');
        }
        return finish(undefined, answer);
      }
      fail(`unexpected control frame ${type}`);
    });
    socket.once(readyEvent, () => {
      socket.write(encodeControlFrame(ControlType.inquiry, encodeHello(hello)));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (error) {
        fail((error as Error).message);
      }
    });
    socket.on('error', (error) => fail(error.message));
    socket.on('close', () =>
      fail(
        transcript === undefined
          ? 'refused before the challenge (it answers no inquiries, or another protocol version)'
          : 'closed without an answer (refused: another secret?)',
      ),
    );
  });
}
