import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryReader, MalformedEncodingError } from '../codec/binary-reader.js';
import { decodeCommand } from '../codec/command-codec.js';
import { decodeAuthCommand, decodeAuthResult } from './auth-command.js';
import { AuthState } from './auth-state.js';

/** Every input gets a value or a typed error, never another exception. */
function decodesOrRefuses(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedEncodingError);
  }
}

describe('auth decoders on arbitrary bytes', () => {
  it('decode or refuse with MalformedEncodingError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        decodesOrRefuses(() => decodeAuthCommand(new BinaryReader(bytes)));
        decodesOrRefuses(() => decodeAuthResult(new BinaryReader(bytes)));
        decodesOrRefuses(() => AuthState.decode(new BinaryReader(bytes)));
        // As a log command of the auth kind, with and without a user.
        decodesOrRefuses(() => decodeCommand(Uint8Array.of(1, 16, 0, ...bytes)));
        decodesOrRefuses(() => decodeCommand(Uint8Array.of(1, 16 | 0x40, 0, ...bytes)));
      }),
      { numRuns: 2000 },
    );
  });

  it('never allocates for a count larger than the input', () => {
    // A user count of 2^28 in a few bytes: refused by the bound, not looped over.
    const bytes = Uint8Array.of(1, 1, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x01);
    expect(() => AuthState.decode(new BinaryReader(bytes))).toThrow(MalformedEncodingError);
  });
});
