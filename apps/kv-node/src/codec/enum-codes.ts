/**
 * Numeric codes of the model's enumerations: etcd's protobuf numbers, used by the binary codecs
 * and accepted by the JSON API.
 */

import type { CompareResult, CompareTarget, SortOrder, SortTarget } from '../store/kv-types.js';

/** etcd `RangeRequest.SortOrder` numbers, by index. */
export const SORT_ORDERS: readonly SortOrder[] = ['none', 'ascend', 'descend'];
/** etcd `RangeRequest.SortTarget` numbers, by index. */
export const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'create', 'mod', 'value'];
/** etcd `Compare.CompareTarget` numbers, by index. */
export const COMPARE_TARGETS: readonly CompareTarget[] = [
  'version',
  'create',
  'mod',
  'value',
  'lease',
];
/** etcd `Compare.CompareResult` numbers, by index. */
export const COMPARE_RESULTS: readonly CompareResult[] = ['equal', 'greater', 'less', 'not_equal'];

/** The code of `value` in `table`; throws if absent (a programming error). */
export function codeOf<T>(table: readonly T[], value: T): number {
  const code = table.indexOf(value);
  if (code < 0) throw new RangeError(`no code for ${String(value)}`);
  return code;
}
