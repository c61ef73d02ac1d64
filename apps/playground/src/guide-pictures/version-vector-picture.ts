import { VersionVector } from '@x/clocks';
import { ScriptedRecording } from './scripted-recording.js';

/** `{athens:2, cyrene:1}`: a version vector as the picture prints it. */
export function formatVector(vector: VersionVector): string {
  return `{${vector
    .entries()
    .map(([node, count]) => `${node}:${count}`)
    .join(', ')}}`;
}

/**
 * The version vector guide's story: a cart on three replicas, cyrene cut off by a partition, a
 * book added through athens and a lamp through cyrene. Every version and every comparison is the
 * real {@link VersionVector}'s.
 */
export function versionVectorPicture(): string {
  const picture = new ScriptedRecording(['customer', 'athens', 'byzantium', 'cyrene', 'partner']);

  const created = VersionVector.empty.increment('athens');
  picture.message('customer', 'athens', 0, 20, 'create cart []');
  picture.message('athens', 'byzantium', 22, 50, `[] ${formatVector(created)}`, 'replicate');
  picture.message('athens', 'cyrene', 30, 68, `[] ${formatVector(created)}`, 'replicate');

  picture.note(100, 'cyrene', 'a partition cuts cyrene off', 'fault');
  const withBook = created.increment('athens');
  picture.message('customer', 'athens', 110, 130, 'add book');
  picture.note(130, 'athens', `athens: [book] ${formatVector(withBook)}`, 'commit');
  picture.message('athens', 'byzantium', 132, 160, `[book] ${formatVector(withBook)}`, 'replicate');
  picture.note(
    160,
    'byzantium',
    `byzantium: new version is ${withBook.compare(created)}: replace`,
    'commit',
  );

  const withLamp = created.increment('cyrene');
  picture.message('partner', 'cyrene', 140, 165, 'add lamp');
  picture.note(165, 'cyrene', `cyrene: [lamp] ${formatVector(withLamp)}`, 'commit');

  picture.note(300, 'cyrene', 'the partition heals', 'fault');
  picture.message('cyrene', 'athens', 310, 350, `[lamp] ${formatVector(withLamp)}`, 'replicate');
  const order = withLamp.compare(withBook);
  picture.note(350, 'athens', `athens: the versions are ${order}`, 'stale');
  const merged = withBook.merge(withLamp);
  picture.note(351, 'athens', 'athens keeps both carts as siblings', 'leader');
  picture.message(
    'athens',
    'cyrene',
    352,
    390,
    `[book] | [lamp] ${formatVector(merged)}`,
    'repair',
  );
  picture.message('customer', 'athens', 420, 440, 'read cart');
  picture.message('athens', 'customer', 450, 480, 'siblings [book], [lamp]', 'reply');

  return picture.render(
    'Version vector: two concurrent updates of a cart, both kept',
    `The cart was created on athens with version ${formatVector(created)}. During a partition a book is added through athens (${formatVector(withBook)}) and a lamp through cyrene (${formatVector(withLamp)}); neither version is before the other (compare says "${order}"), so athens keeps both as siblings instead of letting one overwrite the other. Versions computed by @x/clocks' VersionVector.`,
  );
}
