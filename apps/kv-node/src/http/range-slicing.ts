/** How range responses are sliced and capped (shared by the etcd gateway and the REST list). */

import type { RangeRequest } from '../store/kv-types.js';
import type { ApiContext } from './api-context.js';
import type { SliceOptions } from './json-body-slices.js';

/**
 * Bytes of JSON encoded between two yields to the event loop: small enough that encoding one
 * (base64 and JSON of about 45 keys of 1 KiB) takes well under a millisecond, large enough that
 * the yields cost nothing measurable.
 */
export const RANGE_SLICE_BYTES = 64 * 1024;

/**
 * The slicing of a range answer: `--max-range-response-bytes` caps it only when the client set a
 * limit (it then learns from `more` that it should page on). Without a limit the client asked for
 * everything and has no way to ask for the rest, so it gets everything, streamed.
 */
export function sliceOptions(context: ApiContext, request: RangeRequest): SliceOptions {
  return {
    sliceBytes: RANGE_SLICE_BYTES,
    maxBodyBytes: request.limit > 0 ? context.limits.maxRangeResponseBytes : Infinity,
  };
}
