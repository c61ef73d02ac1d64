export {
  FaultFileSystem,
  type FaultFileSystemOptions,
  type FaultFileSystemStats,
  type FaultRule,
  type FileOperation,
  type Random,
} from './fault-file-system.js';
export { seededRandom } from './seeded-random.js';
export { observedFileSystem } from './observed-file-system.js';
