/**
 * Splits a byte stream of concatenated JSON objects (as etcd's gateway reads a watch request
 * body: `{"create_request":...}{"cancel_request":...}`, with or without newlines between them)
 * into one text per object, as they complete. Tracks only brace depth and strings, so the cost
 * is one pass over the bytes; each object is parsed by the caller.
 */

/** Incremental splitter of concatenated JSON objects. */
export class JsonObjectStream {
  #pending = '';
  #depth = 0;
  #inString = false;
  #escaped = false;
  #start = -1;
  readonly #maxObjectBytes: number;

  /** @param maxObjectBytes longest object accepted (its text length). */
  constructor(maxObjectBytes: number) {
    this.#maxObjectBytes = maxObjectBytes;
  }

  /**
   * Takes the next chunk and returns the objects it completed, in order.
   *
   * @throws RangeError if an object is longer than the bound, or text outside an object is not
   *   whitespace.
   */
  push(chunk: string): string[] {
    const objects: string[] = [];
    const text = this.#pending + chunk;
    let index = this.#pending.length;
    for (; index < text.length; index++) {
      const char = text[index] as string;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (char === '\\') this.#escaped = true;
        else if (char === '"') this.#inString = false;
        continue;
      }
      if (char === '"' && this.#depth > 0) this.#inString = true;
      else if (char === '{') {
        if (this.#depth === 0) this.#start = index;
        this.#depth++;
      } else if (char === '}' && this.#depth > 0) {
        this.#depth--;
        if (this.#depth === 0) {
          objects.push(text.slice(this.#start, index + 1));
          this.#start = -1;
        }
      } else if (this.#depth === 0 && !/\s/.test(char)) {
        throw new RangeError(`unexpected ${JSON.stringify(char)} between JSON objects`);
      }
    }
    this.#pending = this.#start < 0 ? '' : text.slice(this.#start);
    if (this.#start >= 0) this.#start = 0;
    if (this.#pending.length > this.#maxObjectBytes) {
      throw new RangeError(`a request is longer than ${this.#maxObjectBytes} bytes`);
    }
    return objects;
  }

  /** Whether an object was started and not finished. */
  get midObject(): boolean {
    return this.#depth > 0;
  }
}
