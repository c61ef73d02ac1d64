/**
 * An in-memory B+tree from byte-string keys to values, ordered by unsigned byte order.
 *
 * Keys are "byte strings" (see {@link ByteString}): one UTF-16 code unit per byte, all below 256.
 * JavaScript compares such strings code unit by code unit, which is exactly unsigned lexicographic
 * byte order, and V8 stores them one byte per character, so a million keys cost little more than
 * their bytes. Leaves are linked left to right so range scans walk them without revisiting
 * internal nodes.
 */

import type { ByteString } from './byte-string.js';
import type { KeyMap } from './key-map.js';

/** Most keys a node holds before it splits; small enough that an insert's array shift is cheap. */
const MAX_KEYS = 64;
/** Fewest keys a non-root node holds after a delete before it borrows or merges. */
const MIN_KEYS = MAX_KEYS >> 1;

interface LeafNode<V> {
  readonly leaf: true;
  keys: ByteString[];
  values: V[];
  next: LeafNode<V> | undefined;
}

interface InternalNode<V> {
  readonly leaf: false;
  /** `keys[i]` is the smallest key in `children[i + 1]`. */
  keys: ByteString[];
  children: TreeNode<V>[];
}

type TreeNode<V> = LeafNode<V> | InternalNode<V>;

/**
 * Splits `count` items into consecutive groups for a bottom-up build: one group if it fits a node,
 * otherwise groups of about three quarters of a node, evenly sized so that none is under the
 * minimum fill.
 */
function groups(count: number): [start: number, end: number][] {
  if (count === 0) return [];
  const groupCount = count <= MAX_KEYS + 1 ? 1 : Math.ceil(count / ((MAX_KEYS * 3) >> 2));
  const result: [number, number][] = [];
  for (let group = 0; group < groupCount; group++) {
    result.push([
      Math.floor((group * count) / groupCount),
      Math.floor(((group + 1) * count) / groupCount),
    ]);
  }
  return result;
}

/** Index of the first key in `keys` that is `>= key`. */
function lowerBound(keys: readonly ByteString[], key: ByteString): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((keys[middle] as ByteString) < key) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Index of the child of an internal node whose subtree may contain `key`. */
function childIndex(keys: readonly ByteString[], key: ByteString): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((keys[middle] as ByteString) <= key) low = middle + 1;
    else high = middle;
  }
  return low;
}

function newLeaf<V>(): LeafNode<V> {
  return { leaf: true, keys: [], values: [], next: undefined };
}

/**
 * A sorted map from byte-string keys to values (a B+tree with linked leaves).
 *
 * `get`, `set` and `delete` take O(log n); {@link SortedKeyMap.scan} visits a key range in order.
 */
export class SortedKeyMap<V> implements KeyMap<V> {
  #root: TreeNode<V> = newLeaf<V>();
  #size = 0;
  /** The value an upsert replaced (a field rather than a return path through the recursion). */
  #previous: V | undefined;

  /** Number of keys stored. */
  get size(): number {
    return this.#size;
  }

  /** The value stored under `key`, or `undefined`. */
  get(key: ByteString): V | undefined {
    let node = this.#root;
    while (!node.leaf) node = node.children[childIndex(node.keys, key)] as TreeNode<V>;
    const index = lowerBound(node.keys, key);
    return node.keys[index] === key ? node.values[index] : undefined;
  }

  /** Stores `value` under `key`, replacing any previous value. */
  set(key: ByteString, value: V): void {
    this.upsert(key, () => value);
  }

  /**
   * Stores `compute(previous)` under `key` in one descent of the tree, where `previous` is the
   * value stored before (or `undefined`); returns `previous`.
   */
  upsert(key: ByteString, compute: (previous: V | undefined) => V): V | undefined {
    this.#previous = undefined;
    const split = this.#insert(this.#root, key, compute);
    if (split !== undefined) {
      this.#root = { leaf: false, keys: [split.separator], children: [this.#root, split.right] };
    }
    const previous = this.#previous;
    this.#previous = undefined;
    return previous;
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: ByteString): boolean {
    const removed = this.#remove(this.#root, key);
    const root = this.#root;
    if (!root.leaf && root.children.length === 1) this.#root = root.children[0] as TreeNode<V>;
    return removed;
  }

  /** Removes every key. */
  clear(): void {
    this.#root = newLeaf<V>();
    this.#size = 0;
  }

  /**
   * Replaces the contents with `keys` and `values` (parallel arrays, keys strictly ascending), in
   * O(n): the tree is built bottom-up instead of by n inserts. Used to restore snapshots. Takes
   * ownership of neither array.
   *
   * @throws RangeError if the keys are not strictly ascending or the arrays differ in length.
   */
  load(keys: readonly ByteString[], values: readonly V[]): void {
    if (keys.length !== values.length) throw new RangeError('keys and values differ in length');
    for (let index = 1; index < keys.length; index++) {
      if ((keys[index - 1] as ByteString) >= (keys[index] as ByteString)) {
        throw new RangeError(`keys not strictly ascending at ${index}`);
      }
    }
    let level: { node: TreeNode<V>; firstKey: ByteString }[] = [];
    const leaves = groups(keys.length);
    let previous: LeafNode<V> | undefined;
    for (const [start, end] of leaves) {
      const leaf: LeafNode<V> = {
        leaf: true,
        keys: keys.slice(start, end),
        values: values.slice(start, end),
        next: undefined,
      };
      if (previous !== undefined) previous.next = leaf;
      previous = leaf;
      level.push({ node: leaf, firstKey: keys[start] as ByteString });
    }
    while (level.length > 1) {
      const parents: typeof level = [];
      for (const [start, end] of groups(level.length)) {
        const members = level.slice(start, end);
        parents.push({
          node: {
            leaf: false,
            keys: members.slice(1).map((member) => member.firstKey),
            children: members.map((member) => member.node),
          },
          firstKey: (members[0] as (typeof level)[number]).firstKey,
        });
      }
      level = parents;
    }
    this.#root = level[0]?.node ?? newLeaf<V>();
    this.#size = keys.length;
  }

  /**
   * Visits keys in ascending order from the first key `>= start` while they are `< end`
   * (no upper bound when `end` is `undefined`). The visitor returns `false` to stop early.
   * The map must not be modified during the scan.
   */
  scan(
    start: ByteString,
    end: ByteString | undefined,
    visit: (key: ByteString, value: V) => boolean | void,
  ): void {
    let node = this.#root;
    while (!node.leaf) node = node.children[childIndex(node.keys, start)] as TreeNode<V>;
    let leaf: LeafNode<V> | undefined = node;
    let index = lowerBound(leaf.keys, start);
    while (leaf !== undefined) {
      const keys = leaf.keys;
      for (; index < keys.length; index++) {
        const key = keys[index] as ByteString;
        if (end !== undefined && key >= end) return;
        if (visit(key, leaf.values[index] as V) === false) return;
      }
      leaf = leaf.next;
      index = 0;
    }
  }

  /**
   * The keys in `[start, end)` (`end` undefined: to the last key) and their values, as arrays of
   * references copied leaf by leaf: up to `limit` of them, and the count of all. Later changes
   * to the map do not change the arrays. Costs a copy of two references per collected key and a
   * visit per leaf of the range, not per key, for the count.
   */
  collect(
    start: ByteString,
    end: ByteString | undefined,
    limit: number,
  ): { keys: ByteString[]; values: V[]; count: number } {
    const keys: ByteString[] = [];
    const values: V[] = [];
    let count = 0;
    let node = this.#root;
    while (!node.leaf) node = node.children[childIndex(node.keys, start)] as TreeNode<V>;
    let leaf: LeafNode<V> | undefined = node;
    let from = lowerBound(leaf.keys, start);
    while (leaf !== undefined) {
      const leafKeys = leaf.keys;
      const last = leafKeys[leafKeys.length - 1];
      const endsHere = end !== undefined && last !== undefined && last >= end;
      const to = endsHere ? lowerBound(leafKeys, end) : leafKeys.length;
      if (to > from) {
        count += to - from;
        const take = Math.min(to, from + Math.max(0, limit - keys.length));
        for (let index = from; index < take; index++) {
          keys.push(leafKeys[index] as ByteString);
          values.push(leaf.values[index] as V);
        }
      }
      if (endsHere) break;
      leaf = leaf.next;
      from = 0;
    }
    return { keys, values, count };
  }

  #insert(
    node: TreeNode<V>,
    key: ByteString,
    compute: (previous: V | undefined) => V,
  ): { separator: ByteString; right: TreeNode<V> } | undefined {
    if (node.leaf) {
      const index = lowerBound(node.keys, key);
      if (node.keys[index] === key) {
        const previous = node.values[index] as V;
        this.#previous = previous;
        node.values[index] = compute(previous);
        return undefined;
      }
      node.keys.splice(index, 0, key);
      node.values.splice(index, 0, compute(undefined));
      this.#size++;
      if (node.keys.length <= MAX_KEYS) return undefined;
      const half = node.keys.length >> 1;
      const right: LeafNode<V> = {
        leaf: true,
        keys: node.keys.splice(half),
        values: node.values.splice(half),
        next: node.next,
      };
      node.next = right;
      return { separator: right.keys[0] as ByteString, right };
    }
    const index = childIndex(node.keys, key);
    const split = this.#insert(node.children[index] as TreeNode<V>, key, compute);
    if (split === undefined) return undefined;
    node.keys.splice(index, 0, split.separator);
    node.children.splice(index + 1, 0, split.right);
    if (node.keys.length <= MAX_KEYS) return undefined;
    // The middle key moves up; the right node keeps the keys after it.
    const half = node.keys.length >> 1;
    const separator = node.keys[half] as ByteString;
    const right: InternalNode<V> = {
      leaf: false,
      keys: node.keys.splice(half + 1),
      children: node.children.splice(half + 1),
    };
    node.keys.length = half;
    return { separator, right };
  }

  #remove(node: TreeNode<V>, key: ByteString): boolean {
    if (node.leaf) {
      const index = lowerBound(node.keys, key);
      if (node.keys[index] !== key) return false;
      node.keys.splice(index, 1);
      node.values.splice(index, 1);
      this.#size--;
      return true;
    }
    const index = childIndex(node.keys, key);
    const child = node.children[index] as TreeNode<V>;
    if (!this.#remove(child, key)) return false;
    if (child.keys.length < (child.leaf ? MIN_KEYS : MIN_KEYS - 1)) this.#rebalance(node, index);
    return true;
  }

  /** Restores the minimum fill of `parent.children[index]` by borrowing from or merging with a sibling. */
  #rebalance(parent: InternalNode<V>, index: number): void {
    const child = parent.children[index] as TreeNode<V>;
    const left = index > 0 ? (parent.children[index - 1] as TreeNode<V>) : undefined;
    const right =
      index + 1 < parent.children.length ? (parent.children[index + 1] as TreeNode<V>) : undefined;
    const minimum = child.leaf ? MIN_KEYS : MIN_KEYS - 1;
    if (left !== undefined && left.keys.length > minimum) {
      this.#borrowFromLeft(parent, index, left, child);
    } else if (right !== undefined && right.keys.length > minimum) {
      this.#borrowFromRight(parent, index, child, right);
    } else if (left !== undefined) {
      this.#merge(parent, index - 1, left, child);
    } else if (right !== undefined) {
      this.#merge(parent, index, child, right);
    }
  }

  #borrowFromLeft(
    parent: InternalNode<V>,
    index: number,
    left: TreeNode<V>,
    child: TreeNode<V>,
  ): void {
    if (left.leaf && child.leaf) {
      child.keys.unshift(left.keys.pop() as ByteString);
      child.values.unshift(left.values.pop() as V);
      parent.keys[index - 1] = child.keys[0] as ByteString;
    } else if (!left.leaf && !child.leaf) {
      child.keys.unshift(parent.keys[index - 1] as ByteString);
      child.children.unshift(left.children.pop() as TreeNode<V>);
      parent.keys[index - 1] = left.keys.pop() as ByteString;
    }
  }

  #borrowFromRight(
    parent: InternalNode<V>,
    index: number,
    child: TreeNode<V>,
    right: TreeNode<V>,
  ): void {
    if (child.leaf && right.leaf) {
      child.keys.push(right.keys.shift() as ByteString);
      child.values.push(right.values.shift() as V);
      parent.keys[index] = right.keys[0] as ByteString;
    } else if (!child.leaf && !right.leaf) {
      child.keys.push(parent.keys[index] as ByteString);
      child.children.push(right.children.shift() as TreeNode<V>);
      parent.keys[index] = right.keys.shift() as ByteString;
    }
  }

  /** Merges `parent.children[leftIndex + 1]` into `parent.children[leftIndex]`. */
  #merge(parent: InternalNode<V>, leftIndex: number, left: TreeNode<V>, right: TreeNode<V>): void {
    const separator = parent.keys[leftIndex] as ByteString;
    if (left.leaf && right.leaf) {
      left.keys.push(...right.keys);
      left.values.push(...right.values);
      left.next = right.next;
    } else if (!left.leaf && !right.leaf) {
      left.keys.push(separator, ...right.keys);
      left.children.push(...right.children);
    }
    parent.keys.splice(leftIndex, 1);
    parent.children.splice(leftIndex + 1, 1);
  }
}
