const scratch = new DataView(new ArrayBuffer(8));

/**
 * An incremental 64-bit hash (two 32-bit FNV-1a lanes with different primes) over the ordered
 * event log of a run. Two runs of one seed must produce the same hash; if they do not, something
 * in the system under test is not deterministic (a real timer, `Math.random`, iteration over an
 * unordered source). Optionally keeps the readable log too, so two runs can be diffed.
 */
export class TraceHasher {
  private high = 0xcbf29ce4;
  private low = 0x84222325;
  private readonly lines: string[] | undefined;

  /** @param keepLog Keep every traced line in memory (slow; for diffing two runs). */
  constructor(keepLog = false) {
    this.lines = keepLog ? [] : undefined;
  }

  private byte(value: number): void {
    this.low = Math.imul(this.low ^ value, 0x01000193);
    this.high = Math.imul(this.high ^ value, 0x01000197);
  }

  private word(value: number): void {
    this.byte(value & 0xff);
    this.byte((value >>> 8) & 0xff);
    this.byte((value >>> 16) & 0xff);
    this.byte(value >>> 24);
  }

  /** Mixes in a number (any float, hashed by its exact bits). */
  addNumber(value: number): void {
    scratch.setFloat64(0, value);
    this.word(scratch.getUint32(0));
    this.word(scratch.getUint32(4));
  }

  /** Mixes in a string (UTF-16 code units) and a terminator, so "ab"+"c" differs from "a"+"bc". */
  addString(value: string): void {
    for (let i = 0; i < value.length; i++) {
      const code = value.charCodeAt(i);
      this.byte(code & 0xff);
      this.byte(code >>> 8);
    }
    this.byte(0xff);
  }

  /** Mixes in bytes and their length. */
  addBytes(value: Uint8Array): void {
    this.word(value.length);
    for (let i = 0; i < value.length; i++) this.byte(value[i] as number);
  }

  /** Records one line of the readable log when `keepLog` was set; does not change the hash. */
  log(line: () => string): void {
    this.lines?.push(line());
  }

  /** The readable log kept so far (empty unless `keepLog` was set). */
  get logLines(): readonly string[] {
    return this.lines ?? [];
  }

  /** The hash so far as 16 hex digits. */
  hex(): string {
    return (
      (this.high >>> 0).toString(16).padStart(8, '0') +
      (this.low >>> 0).toString(16).padStart(8, '0')
    );
  }
}
