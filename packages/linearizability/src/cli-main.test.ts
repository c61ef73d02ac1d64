import { describe, expect, it } from 'vitest';
import type { CliIo } from './cli-main.js';
import { exitCodes, runCli } from './cli-main.js';

const linearizableJsonl = [
  '{"process":0,"type":"invoke","op":"write","value":1}',
  '{"process":0,"type":"ok","op":"write","value":1}',
  '{"process":0,"type":"invoke","op":"read"}',
  '{"process":0,"type":"ok","op":"read","value":1}',
].join('\n');
const staleJsonl = linearizableJsonl.replace(
  '"ok","op":"read","value":1',
  '"ok","op":"read","value":null',
);
const edn =
  '{:process 0, :type :invoke, :f :append, :key "k", :value "a"}\n{:process 0, :type :ok, :f :append, :key "k", :value "a"}\n{:process 0, :type :invoke, :f :get, :key "k", :value nil}\n{:process 0, :type :ok, :f :get, :key "k", :value "b"}';
const jepsen = 'INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\tnil';

function fakeIo(files: Record<string, string>) {
  const output = { stdout: '', stderr: '', written: {} as Record<string, string> };
  const io: CliIo = {
    readFile: (path) =>
      path in files
        ? Promise.resolve(files[path]!)
        : Promise.reject(
            Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' }),
          ),
    writeFile: (path, text) => {
      output.written[path] = text;
      return Promise.resolve();
    },
    stdout: (text) => void (output.stdout += text),
    stderr: (text) => void (output.stderr += text),
    clock: { now: () => 0 },
  };
  return { io, output };
}

const files = {
  'ok.jsonl': linearizableJsonl,
  'stale.jsonl': staleJsonl,
  'kv.edn': edn,
  'etcd.log': jepsen,
  'bad.jsonl': '{"process":0,"type":"ok","op":"read"}',
};

describe('x-linearizability check', () => {
  it('exits 0 for a linearizable history and says so', async () => {
    const { io, output } = fakeIo(files);
    expect(await runCli(['check', 'ok.jsonl'], io)).toBe(exitCodes.linearizable);
    expect(output.stdout).toMatch(/^linearizable \(2 operations, 1 key\(s\)/);
  });

  it('exits 1 with a timeline, and writes an HTML report on request', async () => {
    const { io, output } = fakeIo(files);
    expect(await runCli(['check', 'stale.jsonl', '--html', 'report.html'], io)).toBe(
      exitCodes.notLinearizable,
    );
    expect(output.stdout).toContain('cannot be linearized');
    expect(output.written['report.html']).toContain('<svg');
  });

  it('guesses the format and the model (EDN, kv) and honours --format and --model', async () => {
    const { io, output } = fakeIo(files);
    expect(await runCli(['check', 'kv.edn'], io)).toBe(exitCodes.notLinearizable);
    expect(output.stdout).toContain('kv model');
    expect(
      await runCli(['check', 'etcd.log', '--format', 'jepsen', '--model', 'register'], io),
    ).toBe(0);
    expect(await runCli(['check', 'etcd.log', '--model', 'kv'], io)).toBe(exitCodes.usage);
    expect(output.stderr).toContain('the kv model has no read operation');
  });

  it('exits 2 when the budget runs out', async () => {
    const { io, output } = fakeIo(files);
    expect(await runCli(['check', 'stale.jsonl', '--step-budget', '1'], io)).toBe(
      exitCodes.unknown,
    );
    expect(output.stdout).toContain('treat as a failure');
  });

  it('prints JSON with --json', async () => {
    const { io, output } = fakeIo(files);
    await runCli(['check', '--json', 'ok.jsonl', '--time-budget-ms', '1000'], io);
    expect(JSON.parse(output.stdout)).toMatchObject({ outcome: 'linearizable' });
  });

  it.each([
    [[], /no command/],
    [['verify', 'x'], /unknown command verify/],
    [['check'], /no FILE given/],
    [['check', 'a', 'b'], /only one FILE/],
    [['check', 'a', '--bogus'], /unknown option --bogus/],
    [['check', 'a', '--step-budget', 'many'], /--step-budget needs a positive number/],
    [['check', 'a', '--model'], /--model needs a value/],
  ])('exits 3 with usage for %j', async (args, message) => {
    const { io, output } = fakeIo(files);
    expect(await runCli(args, io)).toBe(exitCodes.usage);
    expect(output.stderr).toMatch(message);
    expect(output.stderr).toContain('Usage: x-linearizability check FILE');
  });

  it('exits 3 naming the file and line of a bad history, a missing file, a bad format or model', async () => {
    const { io, output } = fakeIo(files);
    expect(await runCli(['check', 'bad.jsonl'], io)).toBe(exitCodes.usage);
    expect(output.stderr).toContain('bad.jsonl: line 1: process 0 completes read');
    expect(await runCli(['check', 'missing.jsonl'], io)).toBe(exitCodes.usage);
    expect(output.stderr).toContain('ENOENT');
    expect(await runCli(['check', 'ok.jsonl', '--format', 'xml'], io)).toBe(exitCodes.usage);
    expect(await runCli(['check', 'ok.jsonl', '--model', 'queue'], io)).toBe(exitCodes.usage);
    expect(output.stderr).toContain('unknown model queue');
  });
});
