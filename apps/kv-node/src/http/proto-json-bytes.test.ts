import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.js';
import { protoJson } from './proto-json.js';

const putRequest = protoJson('etcdserverpb.PutRequest');
const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/**
 * What the gateway decoded a bytes field to before `atob`: Buffer's decoding of the checked
 * text (`undefined`: refused).
 */
function bufferDecoding(text: string): string | undefined {
  if (!BASE64.test(text) || text.length % 4 === 1) return undefined;
  const alphabet = text.includes('-') || text.includes('_') ? 'base64url' : 'base64';
  return Buffer.from(text, alphabet).toString('latin1');
}

/** The gateway's decoding of a bytes field now (`undefined`: refused with a 400). */
function gatewayDecoding(text: string): string | undefined {
  try {
    return putRequest.decode({ key: text }).key as string;
  } catch (error) {
    if (error instanceof ApiError) return undefined;
    throw error;
  }
}

const base64ish = fc
  .array(
    fc.constantFrom(
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= \n'.split(''),
    ),
    { maxLength: 14 },
  )
  .map((chars) => chars.join(''));

describe('bytes fields', () => {
  it('decode like Buffer after the base64 check, for standard, URL-safe and odd padding', () => {
    fc.assert(
      fc.property(fc.oneof(base64ish, fc.uint8Array({ maxLength: 40 }).map(encodeBoth)), (text) => {
        expect(gatewayDecoding(text)).toBe(bufferDecoding(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('keep every byte value', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, index) => index);
    const text = Buffer.from(bytes).toString('base64');
    expect(gatewayDecoding(text)).toBe(Buffer.from(bytes).toString('latin1'));
  });
});

function encodeBoth(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString(bytes.length % 2 === 0 ? 'base64' : 'base64url');
}
