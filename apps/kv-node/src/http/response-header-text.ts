/**
 * A v3 response's `header` (and a whole put response) as JSON text, built from pieces kept while the responding member's
 * identity (cluster, member, term) stays the same, so that a put's answer is two string
 * concatenations instead of a header object, its proto encoding and `JSON.stringify` of both.
 *
 * Why: under put load every response carries the same cluster id, member id and term; only the
 * revision changes. The pieces come from the generic encoder itself (a header encoded once with
 * a marker revision, split around it), so the text is exactly what the generic path writes
 * (field order, decimal strings, zero fields left out) and follows it if the proto mapping
 * changes. A zero revision (left out of the JSON) takes the generic path.
 */

import type { PutResult } from '../store/kv-types.js';
import type { HeaderSource } from './etcd-json.js';
import { putResponseJson, responseHeader } from './etcd-json.js';

/** The header around its revision: `before` + revision + `after`. */
interface HeaderPieces {
  clusterId: string;
  memberId: string;
  generation: number;
  before: string;
  after: string;
}

/** A revision no real header has in this form: its text is searched for once per identity. */
const MARKER_REVISION = 1;
const MARKER_FIELD = `"revision":"${MARKER_REVISION}"`;

let pieces: HeaderPieces | undefined;

function piecesFor(source: HeaderSource): HeaderPieces {
  const current = pieces;
  if (
    current !== undefined &&
    current.generation === source.generation &&
    current.clusterId === source.clusterId &&
    current.memberId === source.memberId
  ) {
    return current;
  }
  const text = JSON.stringify(responseHeader(source, MARKER_REVISION));
  const at = text.indexOf(MARKER_FIELD);
  if (at < 0) throw new Error(`a response header without its revision: ${text}`);
  const next: HeaderPieces = {
    clusterId: source.clusterId,
    memberId: source.memberId,
    generation: source.generation,
    before: `${text.slice(0, at)}"revision":"`,
    after: `"${text.slice(at + MARKER_FIELD.length)}`,
  };
  pieces = next;
  return next;
}

/**
 * `JSON.stringify(responseHeader(source, revision))`, from cached pieces when the revision is
 * not zero.
 */
export function responseHeaderText(source: HeaderSource, revision: number): string {
  if (revision <= 0 || !Number.isSafeInteger(revision)) {
    return JSON.stringify(responseHeader(source, revision));
  }
  const { before, after } = piecesFor(source);
  return `${before}${revision}${after}`;
}

/**
 * A `/v3/kv/put` response as JSON text: `JSON.stringify(putResponseJson(source, result))`,
 * without building it as objects when there is no `prev_kv` to show (the common put).
 */
export function putResponseText(source: HeaderSource, result: PutResult): string {
  if (result.prevKv !== undefined || result.prevNotRead === true) {
    return JSON.stringify(putResponseJson(source, result));
  }
  return `{"header":${responseHeaderText(source, result.revision)}}`;
}
