import {
  nextVersion,
  newer,
  quorumRead,
  quorumWrite,
  type ReplicaClient,
  type Versioned,
} from '@x/quorum';
import { ScriptedRecording } from './scripted-recording.js';
import { VirtualTime } from './virtual-time.js';

const NODES = ['athens', 'byzantium', 'cyrene'];
/** One-way network delay to each replica, so replies arrive in a visible order. */
const DELAY_MS: Record<string, number> = { athens: 20, byzantium: 28, cyrene: 36 };

function show(value: Versioned<string> | undefined): string {
  return value === undefined ? 'nothing' : `${value.value} v${value.version.counter}`;
}

/**
 * The read repair guide's story, run through the real `quorumWrite` and `quorumRead` of
 * `@x/quorum` against three in-memory replicas on virtual time: cyrene misses a write while it
 * restarts, then a read reaches athens and cyrene (byzantium is down) and repairs cyrene.
 */
export async function readRepairPicture(): Promise<string> {
  const time = new VirtualTime();
  const picture = new ScriptedRecording(['client', ...NODES]);
  const stores = new Map(NODES.map((node) => [node, new Map<string, Versioned<string>>()]));
  const down = new Set<string>();

  // Each request travels to the replica, is served there, and the answer travels back; a replica
  // that is down refuses the connection, and the caller learns it after a round trip.
  const call = <T>(node: string, label: string, kind: string, serve: () => T) =>
    new Promise<T>((resolve, reject) => {
      // The client sends to one replica after another, a few milliseconds apart.
      const sentAtMs = time.nowMs + NODES.indexOf(node) * 8;
      const delay = DELAY_MS[node]!;
      if (down.has(node)) {
        picture.message('client', node, sentAtMs, sentAtMs + delay, `${label} ✗`, 'lost');
        time.at(sentAtMs + 2 * delay, () => reject(new Error(`${node} is down`)));
        return;
      }
      picture.message('client', node, sentAtMs, sentAtMs + delay, label, kind);
      time.at(sentAtMs + delay, () => {
        const answer = serve();
        const reply = answer === undefined ? 'ok' : show(answer as Versioned<string>);
        picture.message(node, 'client', time.nowMs, time.nowMs + delay, reply, 'reply');
        time.at(time.nowMs + delay, () => resolve(answer));
      });
    });
  const replicas: ReplicaClient<string, string> = {
    read: (node, key) => call(node, `get ${key}`, 'request', () => stores.get(node)!.get(key)),
    write: (node, key, value) =>
      call(node, `put ${show(value)}`, time.nowMs > 0 ? 'repair' : 'request', () => {
        const store = stores.get(node)!;
        store.set(key, newer(store.get(key), value)!);
        return undefined;
      }),
  };
  const common = { nodes: NODES, replicas, key: 'title', timeoutMs: 1000, timers: time.timers };

  const old: Versioned<string> = { value: 'Patterns', version: nextVersion(undefined, 'w1') };
  for (const store of stores.values()) store.set('title', old);
  picture.note(0, undefined, `every replica holds title = ${show(old)}`, 'client');

  down.add('cyrene');
  picture.note(0, 'cyrene', 'cyrene is restarting', 'fault');
  const current = { value: 'Microservices', version: nextVersion(old.version, 'w1') };
  let writtenAtMs = 0;
  const written = quorumWrite({ ...common, value: current }).then((report) => {
    writtenAtMs = time.nowMs;
    return report;
  });
  await time.runUntil(150);
  const writeReport = await written;
  picture.note(
    writtenAtMs,
    'client',
    `write ok: ${writeReport.accepted.length} of 3 stored it (W = 2)`,
    'commit',
  );

  await time.runUntil(200);
  down.delete('cyrene');
  down.add('byzantium');
  picture.note(200, 'byzantium', 'cyrene is back; byzantium goes down', 'fault');
  let readAtMs = 0;
  let repairedAtMs = 0;
  const reading = quorumRead({ ...common, readRepair: 'sync' }).then((result) => {
    readAtMs = time.nowMs;
    void result.repair.then(() => (repairedAtMs = time.nowMs));
    return result;
  });
  await time.runUntil(400);
  const read = await reading;
  const repair = await read.repair;
  picture.note(readAtMs, 'client', `newest of 2 answers: ${show(read.value)}`, 'leader');
  picture.note(readAtMs, 'client', `stale: ${read.staleNodes.join(', ')}; repair it`, 'snapshot');
  picture.note(
    repairedAtMs,
    'cyrene',
    `repaired: ${repair.repaired.join(', ')} holds ${show(stores.get('cyrene')!.get('title'))}`,
    'commit',
  );
  return picture.render(
    'Read repair: a read that finds a stale replica and repairs it',
    `cyrene misses the write of title = ${show(current)} while it restarts; the write succeeds on athens and byzantium. A later read reaches athens and cyrene (byzantium is down), returns the newest value and writes it back to the stale replica (${read.staleNodes.join(', ')}). Run through @x/quorum's quorumWrite and quorumRead on virtual time.`,
  );
}
