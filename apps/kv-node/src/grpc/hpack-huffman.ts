/**
 * HPACK's static Huffman code (RFC 7541 Appendix B), for decoding header strings a client
 * compressed. The code is canonical: codes of one length are consecutive and follow symbol order,
 * and every length's first code follows on from the previous length's last. So the bit length of
 * each symbol is all that needs writing down; the codes themselves are computed here.
 */

/** Bit length of the code of each symbol 0..255, then of EOS (256), from RFC 7541 Appendix B. */
// prettier-ignore
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;

/** A node of the decoding tree: children by bit, or the symbol at a leaf. */
interface TreeNode {
  zero?: TreeNode;
  one?: TreeNode;
  symbol?: number;
}

function buildDecodingTree(): TreeNode {
  const symbols = CODE_LENGTHS.map((length, symbol) => ({ length, symbol })).sort(
    (a, b) => a.length - b.length || a.symbol - b.symbol,
  );
  const root: TreeNode = {};
  let code = 0;
  let previousLength = symbols[0]?.length ?? 0;
  for (const { length, symbol } of symbols) {
    code <<= length - previousLength;
    previousLength = length;
    let node = root;
    for (let bit = length - 1; bit >= 0; bit--) {
      const branch = (code >>> bit) & 1 ? 'one' : 'zero';
      node = node[branch] ??= {};
    }
    node.symbol = symbol;
    code += 1;
  }
  return root;
}

let decodingTree: TreeNode | undefined;

/**
 * Decodes Huffman-coded `bytes` into the bytes they stand for. Throws on what RFC 7541 §5.2 calls
 * a decoding error: EOS inside the string, padding longer than 7 bits or not all ones, or a code
 * cut off.
 */
export function decodeHuffman(bytes: Uint8Array): Buffer {
  decodingTree ??= buildDecodingTree();
  const root = decodingTree;
  const out: number[] = [];
  let node = root;
  // Bits read since the last complete symbol, and whether all of them were ones (padding).
  let pendingBits = 0;
  let pendingAllOnes = true;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const isOne = ((byte >>> bit) & 1) === 1;
      const next = isOne ? node.one : node.zero;
      if (next === undefined) throw new Error('invalid Huffman code');
      pendingBits += 1;
      pendingAllOnes &&= isOne;
      if (next.symbol === undefined) {
        node = next;
        continue;
      }
      if (next.symbol === EOS) throw new Error('EOS inside a Huffman-coded string');
      out.push(next.symbol);
      node = root;
      pendingBits = 0;
      pendingAllOnes = true;
    }
  }
  if (pendingBits > 7 || !pendingAllOnes) throw new Error('invalid Huffman padding');
  return Buffer.from(out);
}
