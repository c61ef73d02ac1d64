import { describe, expect, it } from 'vitest';
import { decodeHuffman } from './hpack-huffman.js';
import { HpackDecoder, HpackError, encodeHeaderBlock } from './hpack.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('HPACK decoding', () => {
  it('decodes Huffman strings (RFC 7541 C.4.1)', () => {
    expect(decodeHuffman(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff')).toString()).toBe('www.example.com');
  });

  it('decodes the requests of RFC 7541 C.4 in order, through the dynamic table', () => {
    const decoder = new HpackDecoder();
    expect(decoder.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'), 65_536)).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    expect(decoder.decode(hex('8286 84be 5886 a8eb 1064 9cbf'), 65_536)).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    expect(
      decoder.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'), 65_536),
    ).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it('evicts the oldest entries past the table size', () => {
    const decoder = new HpackDecoder(64);
    // "a: b" (34 bytes) then "c: d" (34 bytes): the second evicts the first from 64 bytes.
    decoder.decode(hex('40 0161 0162'), 65_536);
    decoder.decode(hex('40 0163 0164'), 65_536);
    expect(decoder.decode(hex('be'), 65_536)).toEqual([['c', 'd']]);
    expect(() => decoder.decode(hex('bf'), 65_536)).toThrow(HpackError);
  });

  it('refuses what is not HPACK, and a list larger than allowed', () => {
    const decoder = new HpackDecoder();
    expect(() => decoder.decode(hex('80'), 65_536)).toThrow(HpackError);
    expect(() => decoder.decode(hex('ff ffffffff 0f'), 65_536)).toThrow(HpackError);
    expect(() => decoder.decode(hex('40 05 61'), 65_536)).toThrow(HpackError);
    // Huffman padding of a zero bit.
    expect(() => decoder.decode(hex('00 01 61 81 00'), 65_536)).toThrow(HpackError);
    // A table size update above the announced size.
    expect(() => decoder.decode(hex('3f e2 1f'), 65_536)).toThrow(HpackError);
    const big = new HpackDecoder();
    big.decode(Buffer.concat([hex('40 01 78 7f 81 07'), Buffer.alloc(1024, 0x61)]), 65_536);
    // One byte per reference to the 1 KB entry: 100 bytes ask for 100 KB of headers.
    expect(() => big.decode(Buffer.alloc(100, 0xbe), 65_536)).toThrow('header list too large');
  });

  it('encodes literals that decode to the same fields without touching the table', () => {
    const fields = [
      [':method', 'POST'],
      [':authority', '127.0.0.1:2379'],
      ['x-custom', 'é'.normalize()],
      ['te', 'trailers'],
    ] as const;
    const decoder = new HpackDecoder();
    const encoded = encodeHeaderBlock(fields);
    expect(decoder.decode(encoded, 65_536)).toEqual(fields);
    // Nothing was added: index 62 is still empty.
    expect(() => decoder.decode(hex('be'), 65_536)).toThrow(HpackError);
  });
});
