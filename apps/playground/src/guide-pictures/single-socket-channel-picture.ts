import { FRAME_HEADER_BYTES } from '@x/transport-tcp';
import { ScriptedRecording } from './scripted-recording.js';

/** One-way delay between the two servers. */
const DELAY_MS = 30;

/**
 * The single socket channel guide's story as a declarative script (the transport itself runs on
 * real sockets, so no recorded run exists): athens dials byzantium, proves it knows the cluster
 * secret, pipelines three appends on the one connection, loses the connection in the middle of a
 * frame, reconnects after a backoff and resends.
 */
export function singleSocketChannelPicture(): string {
  const picture = new ScriptedRecording(['athens', 'byzantium']);
  const send = (from: string, to: string, atMs: number, label: string, kind = 'request') =>
    picture.message(from, to, atMs, atMs + DELAY_MS, label, kind);

  const handshake = (atMs: number) => {
    picture.note(atMs, 'athens', 'athens (lower id) dials byzantium', 'client');
    send('athens', 'byzantium', atMs, 'hello: athens, nonce');
    send('byzantium', 'athens', atMs + DELAY_MS, 'byzantium, nonce, HMAC', 'reply');
    send('athens', 'byzantium', atMs + 2 * DELAY_MS, 'HMAC proof');
    picture.note(atMs + 3 * DELAY_MS, 'byzantium', 'handshake ok: messages may pass', 'leader');
  };

  handshake(0);
  const pipelineAt = 3 * DELAY_MS + 10;
  picture.note(pipelineAt, 'athens', 'three requests in flight at once', 'commit');
  for (const [position, index] of [41, 42, 43].entries()) {
    send(
      'athens',
      'byzantium',
      pipelineAt + position * 4,
      `append ${index} (#${position + 1})`,
      'append',
    );
  }
  for (const [position, index] of [41, 42, 43].entries()) {
    const at = pipelineAt + DELAY_MS + position * 4 + 2;
    send('byzantium', 'athens', at, `ack ${index} (#${position + 1})`, 'append-response');
  }
  picture.note(
    pipelineAt + DELAY_MS,
    'byzantium',
    'frames arrive in the order they were sent',
    'commit',
  );

  const dropAt = pipelineAt + 2 * DELAY_MS + 30;
  picture.message('athens', 'byzantium', dropAt, dropAt + DELAY_MS / 2, 'append 44 (half)', 'lost');
  picture.note(dropAt + DELAY_MS / 2, 'byzantium', 'connection lost mid-frame', 'fault');
  picture.note(
    dropAt + DELAY_MS / 2 + 1,
    'byzantium',
    `partial frame dropped (${FRAME_HEADER_BYTES}-byte header)`,
    'stale',
  );
  const reconnectAt = dropAt + DELAY_MS + 50;
  picture.note(reconnectAt - 1, 'athens', 'backoff 50 ms, then a new connection', 'election');
  handshake(reconnectAt);
  const resendAt = reconnectAt + 3 * DELAY_MS + 10;
  send('athens', 'byzantium', resendAt, 'append 44 again', 'append');
  send('byzantium', 'athens', resendAt + DELAY_MS + 2, 'ack 44', 'append-response');

  return picture.render(
    'Single socket channel and request pipeline: one ordered, authenticated connection',
    `athens dials byzantium and both prove they know the cluster secret before any message passes. Three appends are in flight at once on the one connection and arrive, and are answered, in order; responses are matched by correlation id (#1, #2, #3). The connection drops in the middle of a frame: byzantium hands over only whole frames (a ${FRAME_HEADER_BYTES}-byte header gives each frame's length), so nothing half-read is decoded; athens reconnects after a backoff, authenticates again and resends. A declarative script of @x/transport-tcp's protocol.`,
  );
}
