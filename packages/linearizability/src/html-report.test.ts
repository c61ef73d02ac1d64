import { describe, expect, it } from 'vitest';
import { checkHistory } from './check.js';
import type { HistoryEvent } from './history.js';
import { renderHtmlReport } from './html-report.js';
import { keyValueModel } from './key-value-model.js';

describe('renderHtmlReport', () => {
  it('draws a self-contained, escaped timeline of the failing key', () => {
    const model = keyValueModel();
    const history: HistoryEvent[] = [
      { process: 'c<1>', type: 'invoke', op: 'put', key: 'k', value: '<script>' },
      { process: 'c<1>', type: 'ok', op: 'put', key: 'k' },
      { process: 2, type: 'invoke', op: 'append', key: 'k', value: 'x' },
      { process: 3, type: 'invoke', op: 'get', key: 'k' },
      { process: 3, type: 'ok', op: 'get', key: 'k', value: 'nope' },
    ];
    const result = checkHistory(history, { model });
    if (result.outcome !== 'not-linearizable') throw new Error('expected a failure');
    const html = renderHtmlReport(result, { model, title: 'a & b' });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('Not linearizable: a &#38; b');
    expect(html).toContain('process c&#60;1&#62;');
    expect(html).toContain('class="failing"');
    expect(html).toContain('class="placed"');
    expect(html).toMatch(/class="\w+ open"/);
    expect(html).toContain('get → &#34;nope&#34;');
  });

  it('makes a short window wide enough for every bar to hold its label', () => {
    const model = keyValueModel();
    const history: HistoryEvent[] = [
      { process: 'alice', type: 'invoke', op: 'put', key: 'title', value: 'Microservices' },
      { process: 'alice', type: 'ok', op: 'put', key: 'title' },
      { process: 'bob', type: 'invoke', op: 'get', key: 'title' },
      { process: 'bob', type: 'ok', op: 'get', key: 'title', value: 'Monoliths' },
    ];
    const result = checkHistory(history, { model });
    if (result.outcome !== 'not-linearizable') throw new Error('expected a failure');
    const html = renderHtmlReport(result, { model });
    const bars = [
      ...html.matchAll(/<rect x="\d+" y="\d+" width="(\d+)"[^>]*\/><text[^>]*>([^<]*)</g),
    ];
    expect(bars).toHaveLength(2);
    for (const [, width, label] of bars) {
      // 11 px monospace text is about 6.6 px a character.
      expect(Number(width)).toBeGreaterThanOrEqual(label!.replace(/&#\d+;/g, 'x').length * 6.6);
    }
  });
});
