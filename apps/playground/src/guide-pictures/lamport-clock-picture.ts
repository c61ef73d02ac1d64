import { LamportClock } from '@x/clocks';
import { ScriptedRecording } from './scripted-recording.js';

/**
 * The Lamport clock guide's story: a client sets `x = 1` on athens, then `x = 2` on byzantium,
 * and cyrene receives both replications. The stamps are the real {@link LamportClock}'s.
 */
export function lamportClockPicture(): string {
  const clocks = new Map(
    ['athens', 'byzantium', 'cyrene'].map((name) => [name, new LamportClock()]),
  );
  const clock = (name: string) => clocks.get(name)!;
  const picture = new ScriptedRecording(['client', 'athens', 'byzantium', 'cyrene']);

  // cyrene has been busy with writes of its own: its counter is ahead of the others.
  for (let write = 0; write < 3; write += 1) clock('cyrene').tick();
  picture.note(0, 'cyrene', `cyrene's own writes moved it to ${clock('cyrene').current}`);

  picture.message('client', 'athens', 10, 30, 'put x=1');
  const first = clock('athens').tick();
  picture.note(30, 'athens', `athens ticks: x=1 stamped ${first}`, 'commit');
  picture.message('athens', 'client', 30, 50, `ok @${first}`, 'reply');
  picture.message('athens', 'cyrene', 32, 80, `x=1 @${first}`, 'replicate');

  // The client carries the stamp it has seen, so the second write is ordered after the first.
  picture.message('client', 'byzantium', 60, 85, `put x=2, seen @${first}`);
  const second = clock('byzantium').witness(first);
  picture.note(85, 'byzantium', `byzantium witnesses ${first}: x=2 stamped ${second}`, 'commit');
  picture.message('byzantium', 'client', 85, 105, `ok @${second}`, 'reply');
  picture.message('byzantium', 'cyrene', 87, 130, `x=2 @${second}`, 'replicate');

  const atCyrene = clock('cyrene').witness(first);
  picture.note(80, 'cyrene', `cyrene witnesses ${first}, now at ${atCyrene}`);
  clock('cyrene').witness(second);
  const kept = second > first ? 'x=2' : 'x=1';
  picture.note(130, 'cyrene', `cyrene keeps ${kept}: stamp ${second} > ${first}`, 'leader');

  return picture.render(
    'Lamport clock: a write ordered after the write its client saw',
    `A client writes x=1 on athens (stamp ${first}) and then x=2 on byzantium, carrying the stamp it saw; byzantium stamps its write ${second}, so every replica keeps x=2, whatever the wall clocks say. Stamps computed by @x/clocks' LamportClock.`,
  );
}
