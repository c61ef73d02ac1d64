import { describe, expect, it } from 'vitest';
import { MessageReader, MessageTooLargeError, framedMessage } from './message-reader.js';

const texts = (messages: { bytes: Buffer }[]): string[] =>
  messages.map(({ bytes }) => bytes.toString());

describe('MessageReader', () => {
  it('reads messages cut anywhere across chunks, and several in one chunk', () => {
    const stream = Buffer.concat([
      framedMessage(Buffer.from('first')),
      framedMessage(Buffer.alloc(0)),
      framedMessage(Buffer.from('third')),
    ]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new MessageReader(100);
      const read = [...reader.read(stream.subarray(0, cut)), ...reader.read(stream.subarray(cut))];
      expect(texts(read)).toEqual(['first', '', 'third']);
    }
  });

  it('reads the compressed flag of each message', () => {
    const compressed = framedMessage(Buffer.from('z'));
    compressed[0] = 1;
    const read = new MessageReader(100).read(
      Buffer.concat([compressed, framedMessage(Buffer.from('p'))]),
    );
    expect(read.map(({ compressed: flag }) => flag)).toEqual([true, false]);
  });

  it('refuses a length past the limit from the prefix alone', () => {
    const prefix = Buffer.from([0, 0x80, 0, 0, 0]);
    const reader = new MessageReader(1024);
    expect(() => reader.read(prefix)).toThrow(MessageTooLargeError);
    expect(() => new MessageReader(1024).read(prefix)).toThrow(
      'Received message larger than max (2147483648 vs 1024)',
    );
  });

  it('takes a message of exactly the limit', () => {
    const read = new MessageReader(3).read(framedMessage(Buffer.from('abc')));
    expect(texts(read)).toEqual(['abc']);
  });
});
