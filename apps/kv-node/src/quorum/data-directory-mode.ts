/**
 * A data directory holds the data of one replication mode: leader mode's log, generation and
 * snapshot, or quorum mode's `quorum-log`. A member restarted in the other mode would start empty
 * while the data it acknowledged sits unused beside it, so it refuses to start instead.
 */

import { readdirSync } from 'node:fs';
import { StartupError } from '../node/startup-error.js';

/** The directory of quorum mode's replica log inside a data directory. */
export const QUORUM_LOG_DIRECTORY = 'quorum-log';

function entriesOf(dataDir: string): string[] {
  try {
    return readdirSync(dataDir);
  } catch {
    return []; // not created yet
  }
}

/**
 * @throws StartupError if `dataDir` holds the data of the other mode than `mode`.
 */
export function assertDataDirectoryMode(dataDir: string, mode: 'leader' | 'quorum'): void {
  const entries = entriesOf(dataDir);
  const hasQuorumData = entries.includes(QUORUM_LOG_DIRECTORY);
  const hasLeaderData = entries.some(
    (entry) => entry === 'generation' || entry === 'snapshot' || entry.startsWith('log-'),
  );
  if (mode === 'quorum' && hasLeaderData) {
    throw new StartupError(
      `--replication quorum: ${dataDir} holds leader-mode data (log, generation or snapshot); ` +
        'start it with --replication leader, or use another --data-dir',
    );
  }
  if (mode === 'leader' && hasQuorumData) {
    throw new StartupError(
      `--replication leader: ${dataDir} holds quorum-mode data (${QUORUM_LOG_DIRECTORY}); ` +
        'start it with --replication quorum, or use another --data-dir',
    );
  }
}
