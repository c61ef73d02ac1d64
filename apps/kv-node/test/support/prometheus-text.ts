/**
 * A reader of Prometheus's text exposition format, enough to check names, types, label names
 * and values of the series a member exports.
 */

/** One sample line: `name{label="value",...} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its declared type and its samples (histogram samples carry suffixes). */
export interface MetricFamily {
  type: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The family a sample belongs to: histogram and summary suffixes stripped when declared. */
function familyOf(name: string, families: Map<string, MetricFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && families.has(base)) return base;
  }
  return name;
}

/** Parses `/metrics` text into families by name. @throws Error for a line it cannot read. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const typed = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (typed !== null) {
      families.set(typed[1] as string, { type: typed[2] as string, samples: [] });
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(LABEL)) {
      labels[label[1] as string] = label[2] as string;
    }
    const name = match[1] as string;
    const family = families.get(familyOf(name, families));
    if (family === undefined) throw new Error(`sample before its # TYPE line: ${line}`);
    family.samples.push({ name, labels, value: Number(match[3]) });
  }
  return families;
}

/** The label names of a family's samples, `le` and `quantile` left out, sorted. */
export function labelNamesOf(family: MetricFamily): string[] {
  const names = new Set<string>();
  for (const sample of family.samples) {
    for (const name of Object.keys(sample.labels)) {
      if (name !== 'le' && name !== 'quantile') names.add(name);
    }
  }
  return [...names].sort();
}
