// @x/generation-clock: a durable, monotonically increasing generation (epoch, term) that lets a cluster reject the past.
export { GenerationClock } from './generation-clock.js';
export type { NextGenerationOptions } from './generation-clock.js';
export { VolatileGenerationClock } from './volatile-generation-clock.js';
export { compareGenerations } from './compare-generations.js';
export type { GenerationState } from './generation-state.js';
export { maxAttachmentBytes } from './generation-state.js';
export type { GenerationStore } from './generation-store.js';
export { FileGenerationStore } from './file-generation-store.js';
export type { FileGenerationStoreOptions } from './file-generation-store.js';
export { InMemoryGenerationStore } from './in-memory-generation-store.js';
export { CorruptGenerationFileError, GenerationClockFailedError } from './errors.js';
export type { FileHandle, FileSystem, OpenMode } from './file-system.js';
export { NodeFileSystem } from './node-file-system.js';
