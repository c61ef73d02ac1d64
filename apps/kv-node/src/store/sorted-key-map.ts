/**
 * An in-memory B+tree from byte-string keys to values, ordered by unsigned byte order.
 *
 * Keys are "byte strings" (see {@link ByteString}): one UTF-16 code unit per byte, all below 256.
 * JavaScript compares such strings code unit by code unit, which is exactly unsigned lexicographic
 * byte order, and V8 stores them one byte per character, so a million keys cost little more than
 * their bytes. Leaves are linked left to right so range scans walk them without revisiting
 * internal nodes.
 *
 * Memory: a node's arrays are always replaced by arrays of exactly their length (`toSpliced`,
 * `slice`, `concat`) rather than grown in place, because V8 grows an array in place by half its
 * length plus 16 slots and never gives the slack back: with `splice` a leaf of 32 keys kept about
 * 107 slots for its keys. And a split of the rightmost node (where ascending keys, the common
 * load, all arrive) leaves it 7/8 full instead of half full; see {@link splitPoint}.
 */

import type { ByteString } from './byte-string.js';
import type { KeyMap } from './key-map.js';

/** Most keys a node holds before it splits; small enough that an insert's array shift is cheap. */
const MAX_KEYS = 64;
/** Fewest keys a non-root node holds after a delete before it borrows or merges. */
const MIN_KEYS = MAX_KEYS >> 1;
/** Keys the left node keeps when the rightmost node of its level splits. */
const RIGHTMOST_SPLIT_KEEPS = MAX_KEYS - (MAX_KEYS >> 3);

/**
 * Where an overfull node of `length` keys splits: the left node keeps the keys before the
 * returned index. In half, except for the rightmost node of its level: keys inserted in
 * ascending order (sequential ids, a bulk load of sorted keys, txns of consecutive keys from
 * several clients) all land there, and a left half would then stay half full for good. Keeping
 * 7/8 there leaves room for keys that arrive a little out of order; the right node starts below
 * the minimum fill, which only decides when a delete borrows or merges (see `#rebalance`).
 */
function splitPoint(length: number, rightmost: boolean): number {
  return rightmost ? RIGHTMOST_SPLIT_KEEPS : length >> 1;
}

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

  /** The key string this map holds equal to `key` (its own instance), or `undefined`. */
  keyInstance(key: ByteString): ByteString | undefined {
    let node = this.#root;
    while (!node.leaf) node = node.children[childIndex(node.keys, key)] as TreeNode<V>;
    const stored = node.keys[lowerBound(node.keys, key)];
    return stored === key ? stored : undefined;
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
    const split = this.#insert(this.#root, key, compute, true);
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

  /** @param rightmost whether `node` is the last node of its level. */
  #insert(
    node: TreeNode<V>,
    key: ByteString,
    compute: (previous: V | undefined) => V,
    rightmost: boolean,
  ): { separator: ByteString; right: TreeNode<V> } | undefined {
    if (node.leaf) {
      const index = lowerBound(node.keys, key);
      if (node.keys[index] === key) {
        const previous = node.values[index] as V;
        this.#previous = previous;
        node.values[index] = compute(previous);
        return undefined;
      }
      const keys = node.keys.toSpliced(index, 0, key);
      const values = node.values.toSpliced(index, 0, compute(undefined));
      this.#size++;
      if (keys.length <= MAX_KEYS) {
        node.keys = keys;
        node.values = values;
        return undefined;
      }
      const at = splitPoint(keys.length, rightmost);
      const right: LeafNode<V> = {
        leaf: true,
        keys: keys.slice(at),
        values: values.slice(at),
        next: node.next,
      };
      node.keys = keys.slice(0, at);
      node.values = values.slice(0, at);
      node.next = right;
      return { separator: right.keys[0] as ByteString, right };
    }
    const index = childIndex(node.keys, key);
    const last = index === node.children.length - 1;
    const split = this.#insert(
      node.children[index] as TreeNode<V>,
      key,
      compute,
      rightmost && last,
    );
    if (split === undefined) return undefined;
    const keys = node.keys.toSpliced(index, 0, split.separator);
    const children = node.children.toSpliced(index + 1, 0, split.right);
    if (keys.length <= MAX_KEYS) {
      node.keys = keys;
      node.children = children;
      return undefined;
    }
    // The key at the split point moves up; the right node keeps the keys after it.
    const at = splitPoint(keys.length, rightmost);
    const right: InternalNode<V> = {
      leaf: false,
      keys: keys.slice(at + 1),
      children: children.slice(at + 1),
    };
    node.keys = keys.slice(0, at);
    node.children = children.slice(0, at + 1);
    return { separator: keys[at] as ByteString, right };
  }

  #remove(node: TreeNode<V>, key: ByteString): boolean {
    if (node.leaf) {
      const index = lowerBound(node.keys, key);
      if (node.keys[index] !== key) return false;
      node.keys = node.keys.toSpliced(index, 1);
      node.values = node.values.toSpliced(index, 1);
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
    const last = left.keys.length - 1;
    if (left.leaf && child.leaf) {
      child.keys = [left.keys[last] as ByteString].concat(child.keys);
      child.values = [left.values[last] as V].concat(child.values);
      left.values = left.values.slice(0, last);
      parent.keys[index - 1] = child.keys[0] as ByteString;
    } else if (!left.leaf && !child.leaf) {
      child.keys = [parent.keys[index - 1] as ByteString].concat(child.keys);
      child.children = [left.children[last + 1] as TreeNode<V>].concat(child.children);
      left.children = left.children.slice(0, last + 1);
      parent.keys[index - 1] = left.keys[last] as ByteString;
    }
    left.keys = left.keys.slice(0, last);
  }

  #borrowFromRight(
    parent: InternalNode<V>,
    index: number,
    child: TreeNode<V>,
    right: TreeNode<V>,
  ): void {
    if (child.leaf && right.leaf) {
      child.keys = child.keys.concat([right.keys[0] as ByteString]);
      child.values = child.values.concat([right.values[0] as V]);
      right.values = right.values.slice(1);
      parent.keys[index] = right.keys[1] as ByteString;
    } else if (!child.leaf && !right.leaf) {
      child.keys = child.keys.concat([parent.keys[index] as ByteString]);
      child.children = child.children.concat([right.children[0] as TreeNode<V>]);
      right.children = right.children.slice(1);
      parent.keys[index] = right.keys[0] as ByteString;
    }
    right.keys = right.keys.slice(1);
  }

  /** Merges `parent.children[leftIndex + 1]` into `parent.children[leftIndex]`. */
  #merge(parent: InternalNode<V>, leftIndex: number, left: TreeNode<V>, right: TreeNode<V>): void {
    const separator = parent.keys[leftIndex] as ByteString;
    if (left.leaf && right.leaf) {
      left.keys = left.keys.concat(right.keys);
      left.values = left.values.concat(right.values);
      left.next = right.next;
    } else if (!left.leaf && !right.leaf) {
      left.keys = left.keys.concat([separator], right.keys);
      left.children = left.children.concat(right.children);
    }
    parent.keys = parent.keys.toSpliced(leftIndex, 1);
    parent.children = parent.children.toSpliced(leftIndex + 1, 1);
  }
}
