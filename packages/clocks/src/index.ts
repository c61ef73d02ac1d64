// @x/clocks: Lamport clocks, hybrid logical clocks and version vectors.
export type { WallClock } from './wall-clock.js';
export { nodeWallClock } from './node-clock.js';
export { ClockDecodeError, ClockOffsetError } from './errors.js';
export { MAX_NODE_ID_LENGTH } from './validate.js';
export { LamportClock } from './lamport-clock.js';
export type { HybridTimestamp } from './hybrid-timestamp.js';
export {
  ENCODED_HYBRID_TIMESTAMP_LENGTH,
  MAX_HYBRID_LOGICAL,
  MAX_HYBRID_WALL_MS,
  ZERO_HYBRID_TIMESTAMP,
  compareHybrid,
  decodeHybridTimestamp,
  encodeHybridTimestamp,
  hybridTimestamp,
} from './hybrid-timestamp.js';
export { HybridClock } from './hybrid-clock.js';
export type { HybridClockOptions } from './hybrid-clock.js';
export { DEFAULT_MAX_VERSION_VECTOR_NODES, VersionVector } from './version-vector.js';
export type { VersionOrder, VersionVectorJson, VersionVectorLimits } from './version-vector.js';
