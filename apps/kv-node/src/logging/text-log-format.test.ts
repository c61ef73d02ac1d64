import { describe, expect, it } from 'vitest';
import { createLogger } from './create-logger.js';
import { formatLogLine } from './text-log-format.js';

describe('text log format', () => {
  it('formats a pino line as time, level, name, message and fields', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
      pid: 1,
      hostname: 'h',
      name: 'node-1',
      msg: 'leader changed',
      leader: 'node-2',
      generation: 7,
      note: 'two words',
    });
    expect(formatLogLine(line)).toBe(
      '2026-01-02T03:04:05.678Z WARN  node-1: leader changed leader=node-2 generation=7 note="two words"\n',
    );
  });

  it('formats the etcd-style lines of createLogger: level names and ISO times', () => {
    const line = JSON.stringify({
      level: 'error',
      time: '2026-01-02T03:04:05.678Z',
      name: 'node-1',
      msg: 'lost',
    });
    expect(formatLogLine(line)).toBe('2026-01-02T03:04:05.678Z ERROR node-1: lost\n');
  });

  it('passes through lines that are not JSON', () => {
    expect(formatLogLine('plain')).toBe('plain\n');
  });

  it('backs the text mode of createLogger; JSON mode writes level names and ISO times', () => {
    const lines: string[] = [];
    const destination = { write: (text: string) => lines.push(text) };
    createLogger({ name: 'n', level: 'info', format: 'text', destination }).info({ a: 1 }, 'hello');
    createLogger({ name: 'n', level: 'info', format: 'json', destination }).debug({}, 'hidden');
    createLogger({ name: 'n', level: 'info', format: 'json', destination }).warn({ b: 2 }, 'json');
    expect(lines[0]).toMatch(/ INFO {2}n: hello a=1\n$/);
    const record = JSON.parse(lines[1]!) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'warn', name: 'n', msg: 'json', b: 2 });
    expect(record.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(new Date(record.time as string).toISOString()).toBe(record.time);
    expect(lines).toHaveLength(2);
  });
});
