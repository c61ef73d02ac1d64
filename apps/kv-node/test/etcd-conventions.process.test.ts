/**
 * etcd's conventions on real member processes: a member configured only by `ETCD_*` variables,
 * `/metrics` with etcd's series, types and label names (checked against a real etcd 3.4 when one
 * is installed), `--listen-metrics-urls`, `GET /version`, and logs with level names, ISO times and
 * hex member ids. Every process is stopped by pid.
 */

import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricFamily } from './support/prometheus-text.js';
import { labelNamesOf, parsePrometheusText } from './support/prometheus-text.js';
import type { ProcessCluster, ProcessMember } from './support/process-cluster.js';
import { freePort } from './support/process-cluster.js';
import type { StartedCluster } from './support/started-cluster.js';
import { startedCluster } from './support/started-cluster.js';
import { etcdPresent } from './support/etcd-binaries.js';
import { startRealEtcd } from './support/real-etcd.js';

const GRPC_CALL_LABELS = ['grpc_method', 'grpc_service', 'grpc_type'];

/** Every series etcd's mixin alerts read, and the others kv-node exports under etcd's names. */
const ETCD_SERIES: [name: string, type: string, labels: string[]][] = [
  ['etcd_server_has_leader', 'gauge', []],
  ['etcd_server_is_leader', 'gauge', []],
  ['etcd_server_leader_changes_seen_total', 'counter', []],
  ['etcd_server_proposals_failed_total', 'counter', []],
  ['etcd_server_proposals_committed_total', 'gauge', []],
  ['etcd_server_proposals_applied_total', 'gauge', []],
  ['etcd_server_proposals_pending', 'gauge', []],
  ['etcd_server_quota_backend_bytes', 'gauge', []],
  ['etcd_server_version', 'gauge', ['server_version']],
  ['etcd_server_id', 'gauge', ['server_id']],
  ['etcd_cluster_version', 'gauge', ['cluster_version']],
  ['etcd_network_peer_sent_failures_total', 'counter', ['To']],
  ['etcd_network_peer_round_trip_time_seconds', 'histogram', ['To']],
  ['etcd_disk_wal_fsync_duration_seconds', 'histogram', []],
  ['etcd_disk_backend_commit_duration_seconds', 'histogram', []],
  ['etcd_mvcc_db_total_size_in_bytes', 'gauge', []],
  ['etcd_mvcc_db_total_size_in_use_in_bytes', 'gauge', []],
  ['etcd_debugging_mvcc_keys_total', 'gauge', []],
  ['grpc_server_started_total', 'counter', GRPC_CALL_LABELS],
  ['grpc_server_handled_total', 'counter', ['grpc_code', ...GRPC_CALL_LABELS]],
  ['grpc_server_handling_seconds', 'histogram', GRPC_CALL_LABELS],
  ['grpc_server_msg_received_total', 'counter', GRPC_CALL_LABELS],
  ['grpc_server_msg_sent_total', 'counter', GRPC_CALL_LABELS],
];

const PUT = { grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Put' };

/** The `ETCD_*` variables that say what `args` (`--flag value` pairs) say. */
function etcdEnvironment(args: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (let index = 0; index < args.length; index += 2) {
    const flag = (args[index] as string).replace(/^--/, '');
    env[`ETCD_${flag.toUpperCase().replace(/-/g, '_')}`] = args[index + 1] as string;
  }
  return env;
}

/** The environment without any `ETCD_*` variable of the test runner's own. */
function baseEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('ETCD_')),
  );
}

/** The sum of a family's samples whose labels include `labels`. */
function valueOf(
  family: MetricFamily | undefined,
  sampleName: string,
  labels: Record<string, string> = {},
): number {
  return (family?.samples ?? [])
    .filter((sample) => sample.name === sampleName)
    .filter((sample) =>
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((total, sample) => total + sample.value, 0);
}

async function metricsOf(url: string): Promise<Map<string, MetricFamily>> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  return parsePrometheusText(await response.text());
}

/** Log lines of a member as JSON objects (lines that are not JSON left out). */
function logRecords(member: ProcessMember): Record<string, unknown>[] {
  return member.output
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

let started: StartedCluster | undefined;
let cluster: ProcessCluster;
let metricsUrl: string;
/** Member ids in hexadecimal by name, from the member list. */
const hexIds = new Map<string, string>();

beforeAll(async () => {
  started = await startedCluster(3, {
    // Picked after the members' ports are planned, as before.
    beforeStart: async () => {
      metricsUrl = `http://127.0.0.1:${await freePort()}`;
    },
    memberStart: (member, index) => {
      if (index === 0) {
        return {
          extraArgs: [
            '--log-level',
            'info',
            '--listen-metrics-urls',
            metricsUrl,
            '--logger',
            'zap',
            '--max-wals',
            '3',
          ],
        };
      }
      // The third member is configured by etcd's variables alone, as an etcd unit file would.
      if (index === 2) {
        return {
          args: [],
          env: {
            ...baseEnvironment(),
            ...etcdEnvironment(member.args),
            ETCD_LOG_LEVEL: 'info',
            ETCD_UNKNOWN_SETTING: 'x',
          },
        };
      }
      return undefined;
    },
  });
  cluster = started.cluster;
  const first = cluster.members[0] as ProcessMember;
  const list = (await (
    await fetch(`${first.clientUrl}/v3/cluster/member/list`, { method: 'POST', body: '{}' })
  ).json()) as { members: { ID: string; name: string }[] };
  for (const member of list.members) hexIds.set(member.name, BigInt(member.ID).toString(16));
}, 120_000);

afterAll(() => started?.stop());

describe("etcd's conventions on a running member", { timeout: 60_000 }, () => {
  it('reads a member configured by ETCD_* variables only, and warns about an unknown one', () => {
    const third = cluster.members[2] as ProcessMember;
    expect(hexIds.has(third.name)).toBe(true);
    const warning = logRecords(third).find(
      (record) => record.msg === 'unrecognized environment variable ETCD_UNKNOWN_SETTING=x',
    );
    expect(warning).toMatchObject({ level: 'warn', name: third.name });
  });

  it('logs level names, ISO times and hex member ids; warns about accepted etcd flags', () => {
    const first = cluster.members[0] as ProcessMember;
    const records = logRecords(first);
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) {
      expect(['debug', 'info', 'warn', 'error', 'fatal']).toContain(record.level);
      expect(new Date(record.time as string).toISOString()).toBe(record.time);
    }
    const serving = records.find((record) => record.msg === 'serving clients');
    expect(serving?.memberId).toBe(hexIds.get(first.name));
    expect(serving?.clusterId).toMatch(/^[0-9a-f]+$/);
    expect(records.map((record) => record.msg)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^--logger=zap is accepted for etcd compatibility/),
        expect.stringMatching(/^--max-wals=3 is accepted for etcd compatibility/),
      ]),
    );
  });

  it("exports etcd's series with etcd's types, label names and measured values", async () => {
    const [first, second, third] = cluster.members as [ProcessMember, ProcessMember, ProcessMember];
    const client = new Etcd3({ hosts: [first.clientUrl] });
    try {
      await client.put('conventions/a').value('1');
      expect(await client.get('conventions/a').string()).toBe('1');
      await client.delete().key('conventions/a');
    } finally {
      client.close();
    }
    const peers = [second, third].map((member) => hexIds.get(member.name) as string);
    // The prober measures each peer at once and then every 4 s: wait for both samples.
    let families = await metricsOf(first.clientUrl);
    for (let attempt = 0; attempt < 100; attempt++) {
      const roundTrips = families.get('etcd_network_peer_round_trip_time_seconds');
      const measured = peers.every(
        (To) => valueOf(roundTrips, 'etcd_network_peer_round_trip_time_seconds_count', { To }) > 0,
      );
      if (measured) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
      families = await metricsOf(first.clientUrl);
    }
    for (const [name, type, labels] of ETCD_SERIES) {
      const family = families.get(name);
      expect(family?.type, name).toBe(type);
      expect(labelNamesOf(family as MetricFamily), name).toEqual([...labels].sort());
    }
    const value = (name: string, labels: Record<string, string> = {}, sample = name): number =>
      valueOf(families.get(name), sample, labels);
    expect(value('etcd_server_has_leader')).toBe(1);
    expect(value('etcd_server_leader_changes_seen_total')).toBeGreaterThanOrEqual(1);
    expect(value('etcd_server_proposals_applied_total')).toBeGreaterThan(0);
    expect(value('etcd_server_proposals_committed_total')).toBeGreaterThanOrEqual(
      value('etcd_server_proposals_applied_total'),
    );
    expect(value('etcd_server_quota_backend_bytes')).toBe(2 * 1024 ** 3);
    expect(value('etcd_mvcc_db_total_size_in_bytes')).toBeGreaterThan(0);
    expect(value('etcd_mvcc_db_total_size_in_use_in_bytes')).toBeGreaterThan(0);
    const version = families.get('etcd_server_version')?.samples[0];
    expect(version?.labels.server_version).toMatch(/^3\.4\.0\+kv-node\.\d+\.\d+\.\d+/);
    expect(version?.value).toBe(1);
    expect(families.get('etcd_server_id')?.samples[0]?.labels.server_id).toBe(
      hexIds.get(first.name),
    );
    const sentFailures = families.get('etcd_network_peer_sent_failures_total');
    expect(sentFailures?.samples.map((sample) => sample.labels.To).sort()).toEqual(
      [...peers].sort(),
    );
    for (const To of peers) {
      expect(
        value(
          'etcd_network_peer_round_trip_time_seconds',
          { To },
          'etcd_network_peer_round_trip_time_seconds_count',
        ),
        To,
      ).toBeGreaterThan(0);
    }
    for (const disk of [
      'etcd_disk_wal_fsync_duration_seconds',
      'etcd_disk_backend_commit_duration_seconds',
    ]) {
      expect(value(disk, {}, `${disk}_count`), disk).toBeGreaterThan(0);
    }
    expect(value('grpc_server_started_total', PUT)).toBeGreaterThanOrEqual(1);
    expect(value('grpc_server_handled_total', { ...PUT, grpc_code: 'OK' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      value('grpc_server_handling_seconds', PUT, 'grpc_server_handling_seconds_count'),
    ).toBeGreaterThanOrEqual(1);
    expect(value('grpc_server_msg_received_total', PUT)).toBeGreaterThanOrEqual(1);
    expect(value('grpc_server_msg_sent_total', PUT)).toBeGreaterThanOrEqual(1);
    // Every method starts at zero, as go-grpc-prometheus initializes them.
    expect(
      families
        .get('grpc_server_started_total')
        ?.samples.some((sample) => sample.labels.grpc_method === 'Snapshot'),
    ).toBe(true);
  });

  it('serves /metrics and /health on --listen-metrics-urls, and nothing else there', async () => {
    const families = await metricsOf(metricsUrl);
    expect(valueOf(families.get('etcd_server_has_leader'), 'etcd_server_has_leader')).toBe(1);
    const health = await fetch(`${metricsUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ health: 'true' });
    const range = await fetch(`${metricsUrl}/v3/kv/range`, { method: 'POST', body: '{}' });
    expect(range.status).toBe(404);
    await range.arrayBuffer();
  });

  it("answers GET /version in etcd's shape", async () => {
    const response = await fetch(`${(cluster.members[1] as ProcessMember).clientUrl}/version`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      etcdserver: expect.stringMatching(/^3\.4\.0\+kv-node\./) as unknown,
      etcdcluster: '3.4.0',
    });
  });
});

describe.skipIf(!etcdPresent)("the same series as a real etcd 3.4's", { timeout: 60_000 }, () => {
  it('has, for every series a single etcd exports, the same type and label names', async () => {
    const etcd = await startRealEtcd({
      extraArgs: ['--metrics', 'extensive'],
      env: baseEnvironment(),
    });
    const { clientUrl } = etcd;
    try {
      const client = new Etcd3({ hosts: [clientUrl] });
      try {
        await client.put('conventions/a').value('1');
      } finally {
        client.close();
      }
      const etcdFamilies = await metricsOf(clientUrl);
      const ours = await metricsOf((cluster.members[0] as ProcessMember).clientUrl);
      const compared: string[] = [];
      for (const [name] of ETCD_SERIES) {
        const theirs = etcdFamilies.get(name);
        // A single etcd has no peers: its peer series appear only in a cluster.
        if (theirs === undefined || theirs.samples.length === 0) continue;
        compared.push(name);
        expect(ours.get(name)?.type, name).toBe(theirs.type);
        expect(labelNamesOf(ours.get(name) as MetricFamily), name).toEqual(labelNamesOf(theirs));
      }
      expect(compared.length).toBeGreaterThanOrEqual(ETCD_SERIES.length - 2);
      // grpc_code values are grpc-go's names.
      const codes = new Set(
        etcdFamilies.get('grpc_server_handled_total')?.samples.map((s) => s.labels.grpc_code),
      );
      const ourCodes = new Set(
        ours.get('grpc_server_handled_total')?.samples.map((s) => s.labels.grpc_code),
      );
      expect([...ourCodes].sort()).toEqual([...codes].sort());
    } finally {
      await etcd.stop();
    }
  });
});
