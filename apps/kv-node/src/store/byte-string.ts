/**
 * Bytes held as a JavaScript string with one code unit (0-255) per byte ("latin1").
 *
 * Why not `Uint8Array`: V8 stores such strings one byte per character with a small header, compares
 * them in unsigned byte order with `<`, hashes them for `Map`, and converts them to and from
 * base64 or buffers in native code. A million keys as strings cost a fraction of a million
 * `Buffer` views.
 */
export type ByteString = string;

/** The byte string of a buffer's bytes. */
export function byteStringFromBytes(bytes: Uint8Array): ByteString {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** The bytes of a byte string, as a new `Buffer`. */
export function bytesFromByteString(value: ByteString): Buffer {
  return Buffer.from(value, 'latin1');
}

/** The UTF-8 encoding of `text` as a byte string (how the REST API turns path keys into bytes). */
export function byteStringFromUtf8(text: string): ByteString {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** Decodes a byte string as UTF-8 text (invalid sequences become U+FFFD). */
export function utf8FromByteString(value: ByteString): string {
  return Buffer.from(value, 'latin1').toString('utf8');
}

/** The standard base64 (with padding) of a byte string, as etcd's JSON gateway writes bytes. */
export function base64FromByteString(value: ByteString): string {
  return Buffer.from(value, 'latin1').toString('base64');
}

/**
 * The byte-string range end that covers every key starting with `prefix` (etcd's
 * `GetPrefixRangeEnd`): the prefix with its last byte below 0xff incremented and what follows
 * dropped, or `"\0"` (to the end of the key space) when every byte is 0xff or the prefix is empty.
 */
export function prefixRangeEnd(prefix: ByteString): ByteString {
  for (let index = prefix.length - 1; index >= 0; index--) {
    const code = prefix.charCodeAt(index);
    if (code < 0xff) return prefix.slice(0, index) + String.fromCharCode(code + 1);
  }
  return '\0';
}
