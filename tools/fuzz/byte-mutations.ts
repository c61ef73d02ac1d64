import fc from 'fast-check';

/**
 * One edit of an encoding, as a fuzzer of a binary decoder would make it. Positions are taken
 * modulo the length of the bytes they apply to, so one mutation fits any input.
 */
export type ByteMutation =
  | { kind: 'flip-bit'; at: number; bit: number }
  | { kind: 'set-byte'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'huge-length'; at: number; width: 1 | 2 | 4 | 8; littleEndian: boolean }
  | { kind: 'duplicate'; at: number; length: number };

/** Values a length or count field set "huge" takes: all ones, the signed maximum, 2^31, 2^32-1. */
const HUGE_PATTERNS = [0xff, 0x7f, 0x80] as const;

/** Applies `mutation` to a copy of `bytes`. */
export function applyMutation(bytes: Uint8Array, mutation: ByteMutation): Uint8Array {
  const length = bytes.length;
  const position = (at: number): number => (length === 0 ? 0 : at % length);
  switch (mutation.kind) {
    case 'flip-bit': {
      if (length === 0) return bytes.slice();
      const copy = bytes.slice();
      copy[position(mutation.at)]! ^= 1 << mutation.bit;
      return copy;
    }
    case 'set-byte': {
      if (length === 0) return bytes.slice();
      const copy = bytes.slice();
      copy[position(mutation.at)] = mutation.value;
      return copy;
    }
    case 'truncate':
      return bytes.slice(0, length === 0 ? 0 : mutation.at % (length + 1));
    case 'extend':
      return concat(bytes, mutation.bytes);
    case 'insert': {
      const at = length === 0 ? 0 : mutation.at % (length + 1);
      return concat(bytes.subarray(0, at), mutation.bytes, bytes.subarray(at));
    }
    case 'delete': {
      const at = position(mutation.at);
      return concat(bytes.subarray(0, at), bytes.subarray(at + mutation.length));
    }
    case 'huge-length': {
      // Overwrites a field as a length or count would be declared: as big as it can be.
      const copy = bytes.slice();
      const at = position(mutation.at);
      const pattern = HUGE_PATTERNS[mutation.at % HUGE_PATTERNS.length]!;
      for (let i = 0; i < mutation.width && at + i < length; i++) {
        const significant = mutation.littleEndian ? i === mutation.width - 1 : i === 0;
        copy[at + i] = significant ? pattern : 0xff;
      }
      return copy;
    }
    case 'duplicate': {
      const at = position(mutation.at);
      const slice = bytes.subarray(at, at + mutation.length);
      return concat(bytes.subarray(0, at + slice.length), slice, bytes.subarray(at + slice.length));
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const result = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}

const position = fc.nat({ max: 1 << 20 });

/** One random {@link ByteMutation}. */
export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('flip-bit' as const),
      at: position,
      bit: fc.nat({ max: 7 }),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('set-byte' as const),
      at: position,
      value: fc.nat({ max: 255 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: position }), weight: 3 },
  {
    arbitrary: fc.record({
      kind: fc.constant('extend' as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: position,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      at: position,
      length: fc.integer({ min: 1, max: 8 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('huge-length' as const),
      at: position,
      width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      littleEndian: fc.boolean(),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('duplicate' as const),
      at: position,
      length: fc.integer({ min: 1, max: 32 }),
    }),
    weight: 1,
  },
);

/**
 * Inputs for a decoder: mostly valid encodings with one to four mutations, some valid ones
 * unchanged, some raw random bytes.
 */
export function fuzzedBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: valid, weight: 1 },
    {
      arbitrary: fc
        .tuple(valid, fc.array(byteMutation, { minLength: 1, maxLength: 4 }))
        .map(([bytes, mutations]) => mutations.reduce(applyMutation, bytes)),
      weight: 6,
    },
    { arbitrary: fc.uint8Array({ maxLength: 96 }), weight: 2 },
  );
}

/**
 * How to fuzz bytes that only exist inside an (async) property, such as a file a component wrote:
 * leave them, mutate them, or replace them by raw bytes. Apply with {@link applyFuzzPlan}.
 */
export type FuzzPlan =
  { kind: 'mutate'; mutations: ByteMutation[] } | { kind: 'replace'; bytes: Uint8Array };

/** The same mix as {@link fuzzedBytes}: mostly mutated, some unchanged, some raw bytes. */
export const fuzzPlan: fc.Arbitrary<FuzzPlan> = fc.oneof(
  { arbitrary: fc.constant<FuzzPlan>({ kind: 'mutate', mutations: [] }), weight: 1 },
  {
    arbitrary: fc
      .array(byteMutation, { minLength: 1, maxLength: 4 })
      .map((mutations): FuzzPlan => ({ kind: 'mutate', mutations })),
    weight: 6,
  },
  {
    arbitrary: fc
      .uint8Array({ maxLength: 96 })
      .map((bytes): FuzzPlan => ({ kind: 'replace', bytes })),
    weight: 2,
  },
);

/** Applies a {@link FuzzPlan} to `bytes` (never changing them in place). */
export function applyFuzzPlan(bytes: Uint8Array, plan: FuzzPlan): Uint8Array {
  return plan.kind === 'replace'
    ? plan.bytes.slice()
    : plan.mutations.reduce(applyMutation, bytes.slice());
}
