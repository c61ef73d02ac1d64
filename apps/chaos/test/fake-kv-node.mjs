// A stand-in for kv-node's CLI in the runner's end-to-end test: it takes kv-node's flags, serves
// the client API by forwarding every request to one shared in-test store (`--store <url>`), and
// claims leadership if it is the first member of --initial-cluster. It replicates nothing.
import { request, createServer } from 'node:http';

const args = process.argv.slice(2);
const flag = (name) => args[args.indexOf(`--${name}`) + 1];
const name = flag('name');
const store = flag('store');
const client = new URL(flag('listen-client-urls'));
const members = flag('initial-cluster')
  .split(',')
  .map((entry) => entry.split('=')[0]);

const server = createServer((incoming, outgoing) => {
  if (incoming.url === '/v1/cluster') {
    const leader = members[0] === name;
    outgoing.setHeader('content-type', 'application/json');
    outgoing.end(
      JSON.stringify({
        member_id: name,
        name,
        role: leader ? 'leader' : 'follower',
        leader_id: members[0],
        generation: 1,
        members: members.map((member) => ({ id: member, name: member })),
      }),
    );
    return;
  }
  const forward = request(
    `${store}${incoming.url}`,
    { method: incoming.method, headers: { 'content-type': 'application/json' } },
    (answer) => {
      outgoing.writeHead(answer.statusCode ?? 500, answer.headers);
      answer.pipe(outgoing);
    },
  );
  forward.on('error', () => outgoing.destroy());
  incoming.pipe(forward);
});
server.listen(Number(client.port), client.hostname, () => {
  console.log(`${name} serving on ${client.href}`);
});
