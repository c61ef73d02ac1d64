import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  findUnknownFields,
  validateAgainstSchema,
  type KubernetesObject,
  type ManifestDocument,
} from './checks/kubernetes-schemas.js';
import { readYamlDocuments } from './checks/yaml-documents.js';

const kubernetesDir = fileURLToPath(new URL('kubernetes/', import.meta.url));

interface Kustomization {
  resources: string[];
  secretGenerator: { name: string; files: string[] }[];
  images: { name: string }[];
}

const kustomization = readYamlDocuments(`${kubernetesDir}kustomization.yaml`)[0] as Kustomization;

// Kubernetes reads manifests with a YAML 1.1 parser; merge keys are not used here.
const documents: ManifestDocument[] = kustomization.resources.flatMap((file) =>
  readYamlDocuments(`${kubernetesDir}${file}`).map((object) => ({
    source: `deploy/kubernetes/${file}`,
    object: object as KubernetesObject,
  })),
);

function only(kind: string): KubernetesObject {
  const matches = documents.filter((document) => document.object.kind === kind);
  expect(matches, kind).toHaveLength(1);
  return matches[0]!.object;
}

// Narrow views of the fields the consistency checks read; the schemas check the rest.
interface StatefulSetView {
  spec: {
    serviceName: string;
    replicas: number;
    podManagementPolicy: string;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              topologyKey: string;
              labelSelector: { matchLabels: Record<string, string> };
            }[];
          };
        };
        securityContext: { runAsNonRoot: boolean };
        serviceAccountName: string;
        containers: {
          command: string[];
          lifecycle: { preStop: { exec: { command: string[] } } };
          image: string;
          env: { name: string; value?: string }[];
          readinessProbe: { httpGet: { path: string } };
          livenessProbe: { httpGet: { path: string } };
          resources: { requests: Record<string, string>; limits: Record<string, string> };
          volumeMounts: { name: string; mountPath: string }[];
        }[];
        volumes: { name: string; secret?: { secretName: string } }[];
      };
    };
    volumeClaimTemplates: { metadata: { name: string } }[];
    persistentVolumeClaimRetentionPolicy: { whenScaled: string; whenDeleted: string };
  };
}

interface ServiceView {
  metadata: { name: string };
  spec: {
    clusterIP?: string;
    publishNotReadyAddresses?: boolean;
    selector: Record<string, string>;
  };
}

describe('Kubernetes manifests', () => {
  it('are listed in kustomization.yaml and exist', () => {
    for (const file of kustomization.resources)
      expect(existsSync(`${kubernetesDir}${file}`)).toBe(true);
    expect(documents.length).toBeGreaterThanOrEqual(4);
  });

  it('validate against the Kubernetes schemas of their kinds', async () => {
    const problems = (await Promise.all(documents.map(validateAgainstSchema))).flat();
    expect(problems).toEqual([]);
  });

  it('use no field their kind does not define, and a misspelt field deep in a pod is caught', () => {
    // One compiler run for both: creating a TypeScript program costs seconds.
    const mutated = structuredClone(only('StatefulSet')) as unknown as StatefulSetView;
    const container = mutated.spec.template.spec.containers[0]! as unknown as Record<
      string,
      unknown
    >;
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    const problems = findUnknownFields(
      [...documents, { source: 'mutated', object: mutated as unknown as KubernetesObject }],
      fileURLToPath(import.meta.url),
    );
    expect(problems.filter((problem) => !problem.startsWith('mutated:'))).toEqual([]);
    expect(problems.join('\n')).toMatch(/^mutated: .*readinesProbe/m);
  }, 60_000);

  it('the schema check catches a wrong type', async () => {
    const statefulSet = structuredClone(only('StatefulSet'));
    (statefulSet.spec as { replicas: unknown }).replicas = 'three';
    expect(await validateAgainstSchema({ source: 'mutated', object: statefulSet })).not.toEqual([]);
  });

  it('run three members that start together, one per machine, with probes and resources', () => {
    const statefulSet = only('StatefulSet') as unknown as StatefulSetView;
    const { spec } = statefulSet;
    expect(spec.replicas).toBe(3);
    expect(spec.podManagementPolicy).toBe('Parallel');
    expect(spec.template.metadata.labels).toMatchObject(spec.selector.matchLabels);
    const antiAffinity =
      spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(antiAffinity[0]?.topologyKey).toBe('kubernetes.io/hostname');
    expect(antiAffinity[0]?.labelSelector.matchLabels).toEqual(spec.selector.matchLabels);
    expect(spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    const container = spec.template.spec.containers[0]!;
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/livez');
    expect(Object.keys(container.resources.requests).sort()).toEqual(['cpu', 'memory']);
    expect(container.resources.limits.memory).toBeDefined();
    const dataMount = container.volumeMounts.find(
      (mount) => mount.mountPath === '/var/lib/kv-node',
    );
    expect(spec.volumeClaimTemplates.map((claim) => claim.metadata.name)).toContain(
      dataMount?.name,
    );
  });

  it('name exactly the StatefulSet members in --initial-cluster, through the headless Service', () => {
    const statefulSet = only('StatefulSet') as unknown as StatefulSetView;
    const env = new Map(
      statefulSet.spec.template.spec.containers[0]!.env.map((variable) => [
        variable.name,
        variable.value,
      ]),
    );
    const expected = Array.from(
      { length: statefulSet.spec.replicas },
      (_, ordinal) =>
        `kv-node-${ordinal}=http://kv-node-${ordinal}.${statefulSet.spec.serviceName}:2380`,
    ).join(',');
    expect(env.get('KV_NODE_INITIAL_CLUSTER')).toBe(expected);
    expect(env.get('KV_NODE_INITIAL_ADVERTISE_PEER_URLS')).toBe(
      `http://$(POD_NAME).${statefulSet.spec.serviceName}:2380`,
    );
    // Unknown KV_NODE_* variables make kv-node exit, so only real flags may appear.
    const flags = readFileSync(
      fileURLToPath(new URL('../apps/kv-node/src/config/flag-spec.ts', import.meta.url)),
      'utf8',
    );
    for (const name of env.keys()) {
      if (!name.startsWith('KV_NODE_')) continue;
      const flag = name.slice('KV_NODE_'.length).toLowerCase().replace(/_/g, '-');
      expect(flags, name).toContain(`name: '${flag}'`);
    }
  });

  it('give the members a headless Service that publishes them before they are ready', () => {
    const statefulSet = only('StatefulSet') as unknown as StatefulSetView;
    const services = documents
      .filter((document) => document.object.kind === 'Service')
      .map((document) => document.object as unknown as ServiceView);
    const headless = services.find(
      (service) => service.metadata.name === statefulSet.spec.serviceName,
    );
    expect(headless?.spec.clusterIP).toBe('None');
    expect(headless?.spec.publishNotReadyAddresses).toBe(true);
    for (const service of services) {
      expect(statefulSet.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    }
    expect(services.some((service) => service.spec.clusterIP !== 'None')).toBe(true);
  });

  it('allow at most one member down for voluntary disruptions', () => {
    const budget = only('PodDisruptionBudget') as unknown as {
      spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
    };
    const statefulSet = only('StatefulSet') as unknown as StatefulSetView;
    expect(budget.spec.maxUnavailable).toBe(1);
    expect(budget.spec.selector.matchLabels).toEqual(statefulSet.spec.selector.matchLabels);
  });

  it('mount the peer secret that kustomize generates', () => {
    const statefulSet = only('StatefulSet') as unknown as StatefulSetView;
    const secretNames = statefulSet.spec.template.spec.volumes.flatMap((volume) =>
      volume.secret === undefined ? [] : [volume.secret.secretName],
    );
    expect(secretNames).toEqual(kustomization.secretGenerator.map((generator) => generator.name));
    expect(kustomization.secretGenerator[0]?.files).toEqual(['peer-secret=peer-secret.txt']);
    const image = statefulSet.spec.template.spec.containers[0]!.image.split(':')[0];
    expect(kustomization.images.map((entry) => entry.name)).toContain(image);
  });

  it('change membership with replicas: join or replace before the start, leave on a scale-down', () => {
    const statefulSet = only('StatefulSet') as unknown as StatefulSetView;
    const { spec } = statefulSet;
    const container = spec.template.spec.containers[0]!;
    // The steps deploy/kubernetes-membership.test.ts plays with real processes, as the image has them.
    expect(container.command).toEqual([
      'node',
      '/app/member-start.mjs',
      'node',
      '/app/dist/cli.js',
    ]);
    expect(container.lifecycle.preStop.exec.command).toEqual(['node', '/app/member-leave.mjs']);
    const env = new Map(container.env.map((variable) => [variable.name, variable.value]));
    const clientService = documents
      .filter((document) => document.object.kind === 'Service')
      .map((document) => document.object as unknown as ServiceView)
      .find((service) => service.spec.clusterIP !== 'None');
    expect(env.get('KV_MEMBER_ENDPOINTS')).toBe(`http://${clientService?.metadata.name}:2379`);
    expect(env.get('KV_NODE_HOST_WHITELIST')?.split(',')).toContain(clientService?.metadata.name);
    expect(['replace', 'refuse']).toContain(env.get('KV_MEMBER_ON_LOST_VOLUME'));
    // A removed member's volume must not come back on a later scale-up.
    expect(spec.persistentVolumeClaimRetentionPolicy.whenScaled).toBe('Delete');
    // The pre-stop step may read this StatefulSet and nothing more.
    const account = documents.find(
      (document) =>
        document.object.kind === 'ServiceAccount' &&
        document.object.metadata?.name === spec.template.spec.serviceAccountName,
    );
    expect(account).toBeDefined();
    const role = only('Role') as unknown as {
      metadata: { name: string };
      rules: {
        apiGroups: string[];
        resources: string[];
        resourceNames: string[];
        verbs: string[];
      }[];
    };
    expect(role.rules).toEqual([
      {
        apiGroups: ['apps'],
        resources: ['statefulsets'],
        resourceNames: [only('StatefulSet').metadata?.name],
        verbs: ['get'],
      },
    ]);
    const binding = only('RoleBinding') as unknown as {
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string }[];
    };
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: spec.template.spec.serviceAccountName },
    ]);
  });
});
