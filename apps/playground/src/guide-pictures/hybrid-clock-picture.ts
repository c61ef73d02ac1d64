import { HybridClock, compareHybrid, type HybridTimestamp } from '@x/clocks';
import { ScriptedRecording } from './scripted-recording.js';

/** 10:02:00.000 UTC on an arbitrary day: where the story's wall clocks are. */
const STORY_START_MS = Date.UTC(2025, 2, 30, 10, 2, 0);
/** cyrene's wall clock is this far behind athens'. */
const CYRENE_BEHIND_MS = 300;

/** `10:02:00.000+1`: a hybrid timestamp as the picture prints it. */
export function formatHybrid(timestamp: HybridTimestamp): string {
  return `${new Date(timestamp.wallMs).toISOString().slice(11, 23)}+${timestamp.logical}`;
}

/**
 * The hybrid clock guide's story: cyrene's wall clock is 300 ms behind athens'; a client writes
 * `x = 1` on athens, then `x = 2` on cyrene. The stamps are the real {@link HybridClock}'s, each
 * reading a wall clock that follows the script's virtual time.
 */
export function hybridClockPicture(): string {
  let nowMs = 0;
  const athens = new HybridClock({ now: () => STORY_START_MS + nowMs }, { maxOffsetMs: 500 });
  const cyrene = new HybridClock(
    { now: () => STORY_START_MS + nowMs - CYRENE_BEHIND_MS },
    { maxOffsetMs: 500 },
  );
  const picture = new ScriptedRecording(['client', 'athens', 'cyrene']);
  picture.note(0, 'cyrene', `cyrene's wall clock is ${CYRENE_BEHIND_MS} ms behind`, 'fault');

  picture.message('client', 'athens', 10, 30, 'put x=1');
  nowMs = 30;
  const first = athens.tick();
  picture.note(30, 'athens', `athens stamps x=1 ${formatHybrid(first)}`, 'commit');
  picture.message('athens', 'client', 30, 50, `ok @${formatHybrid(first)}`, 'reply');

  picture.message('client', 'cyrene', 60, 80, `put x=2, seen @${formatHybrid(first)}`);
  nowMs = 80;
  const wallAtCyrene = STORY_START_MS + nowMs - CYRENE_BEHIND_MS;
  picture.note(
    80,
    'cyrene',
    `cyrene's wall clock: ${new Date(wallAtCyrene).toISOString().slice(11, 23)}`,
    'fault',
  );
  const second = cyrene.witness(first);
  picture.note(81, 'cyrene', `cyrene stamps x=2 ${formatHybrid(second)}`, 'commit');
  picture.message('cyrene', 'client', 81, 100, `ok @${formatHybrid(second)}`, 'reply');
  picture.message('cyrene', 'athens', 83, 120, `x=2 @${formatHybrid(second)}`, 'replicate');

  nowMs = 120;
  athens.witness(second);
  const kept = compareHybrid(second, first) > 0 ? 'x=2' : 'x=1';
  picture.note(120, 'athens', `athens keeps ${kept}: the later stamp wins`, 'leader');

  return picture.render(
    'Hybrid clock: a write ordered after the write its client saw, near wall time',
    `cyrene's wall clock is ${CYRENE_BEHIND_MS} ms behind athens'. A client writes x=1 on athens (stamp ${formatHybrid(first)}), then x=2 on cyrene; cyrene's wall clock alone would stamp x=2 earlier, but the hybrid clock witnesses the client's stamp and stamps ${formatHybrid(second)}, so last-writer-wins keeps ${kept}. Stamps computed by @x/clocks' HybridClock.`,
  );
}
