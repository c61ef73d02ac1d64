import { hybridClockPicture } from './hybrid-clock-picture.js';
import { lamportClockPicture } from './lamport-clock-picture.js';
import { linearizabilityPicture } from './linearizability-picture.js';
import { monotonicTimePicture } from './monotonic-time-picture.js';
import { readRepairPicture } from './read-repair-picture.js';
import { singleSocketChannelPicture } from './single-socket-channel-picture.js';
import { versionVectorPicture } from './version-vector-picture.js';
import { writeAheadLogPicture } from './write-ahead-log-picture.js';

/** A guide picture whose story is a script over real package code, not a playground scenario. */
export interface GuidePicture {
  /** The file name in docs/dist/diagrams/, without `.svg`. */
  readonly id: string;
  /** The guide that shows it (docs/guides/patterns/<guide>.md). */
  readonly guide: string;
  readonly draw: () => string | Promise<string>;
}

/** Every scripted guide picture. */
export const guidePictures: readonly GuidePicture[] = [
  { id: 'lamport-clock-ordering', guide: 'lamport-clock', draw: lamportClockPicture },
  { id: 'hybrid-clock-skew', guide: 'hybrid-clock', draw: hybridClockPicture },
  { id: 'version-vector-siblings', guide: 'version-vector', draw: versionVectorPicture },
  { id: 'read-repair-stale-replica', guide: 'read-repair', draw: readRepairPicture },
  { id: 'monotonic-time-clock-jump', guide: 'monotonic-time', draw: monotonicTimePicture },
  {
    id: 'linearizability-stale-read',
    guide: 'linearizability-checking',
    draw: linearizabilityPicture,
  },
  { id: 'write-ahead-log-group-commit', guide: 'write-ahead-log', draw: writeAheadLogPicture },
  {
    id: 'single-socket-channel-pipeline',
    guide: 'single-socket-channel',
    draw: singleSocketChannelPicture,
  },
];
