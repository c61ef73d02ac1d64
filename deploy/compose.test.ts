import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateComposeFile } from './checks/compose-schema.js';
import { readYamlDocuments } from './checks/yaml-documents.js';

const deployDir = fileURLToPath(new URL('./', import.meta.url));

interface ComposeService {
  image: string;
  build: { context: string; dockerfile: string };
  environment: Record<string, string>;
  ports: string[];
  volumes: string[];
  secrets: string[];
  init: boolean;
  stop_grace_period: string;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
  secrets: Record<string, { file: string }>;
}

// Compose resolves YAML merge keys (`<<: *anchor`); the schema applies to the merged result.
const compose = readYamlDocuments(`${deployDir}compose.yaml`, { merge: true })[0] as ComposeFile;

describe('compose.yaml', () => {
  it('validates against the Compose Specification schema', () => {
    expect(validateComposeFile(compose)).toEqual([]);
  });

  it('the schema check catches a misspelt service field', () => {
    const mutated = structuredClone(compose);
    (mutated.services['kv-a'] as unknown as Record<string, unknown>).enviroment = {};
    expect(validateComposeFile(mutated).join('\n')).toMatch(/enviroment/);
  });

  it('runs three members that list each other in --initial-cluster', () => {
    const names = Object.keys(compose.services).sort();
    expect(names).toHaveLength(3);
    const initialCluster = names.map((name) => `${name}=http://${name}:2380`).join(',');
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.environment.KV_NODE_NAME).toBe(name);
      expect(service.environment.KV_NODE_INITIAL_CLUSTER).toBe(initialCluster);
      expect(service.environment.KV_NODE_INITIAL_ADVERTISE_PEER_URLS).toBe(`http://${name}:2380`);
    }
  });

  it('gives each member its own persistent volume for the data directory', () => {
    const volumes = Object.values(compose.services).map((service) => {
      const mount = service.volumes.find((volume) => volume.endsWith(':/var/lib/kv-node'));
      return mount?.split(':')[0];
    });
    expect(new Set(volumes).size).toBe(3);
    for (const volume of volumes) expect(compose.volumes).toHaveProperty(volume!);
  });

  it('passes the peer secret as a Compose secret, from a file kept out of git', () => {
    for (const service of Object.values(compose.services)) {
      expect(service.secrets).toEqual(['peer_secret']);
      expect(service.environment.KV_NODE_PEER_SECRET_FILE).toBe('/run/secrets/peer_secret');
    }
    const secretFile = compose.secrets.peer_secret!.file;
    const ignored = readFileSync(`${deployDir}.gitignore`, 'utf8').split('\n');
    expect(ignored).toContain(secretFile.replace(/^\.\//, ''));
  });

  it('builds the image from deploy/Dockerfile and stops members gracefully', () => {
    const hostPorts = new Set<string>();
    for (const service of Object.values(compose.services)) {
      const context = fileURLToPath(new URL(service.build.context + '/', import.meta.url));
      expect(existsSync(`${context}${service.build.dockerfile}`)).toBe(true);
      expect(service.init).toBe(true);
      expect(service.stop_grace_period).toBe('30s');
      for (const port of service.ports) hostPorts.add(port.split(':').slice(0, -1).join(':'));
    }
    expect(hostPorts.size).toBe(3);
  });
});
