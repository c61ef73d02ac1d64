#!/usr/bin/env node
// The pre-stop step of a StatefulSet member: on a scale-down, removes this member from the
// cluster before its pod stops; on any other stop (a rolling update, a drain, an eviction) does
// nothing, since the member comes back with its volume. A scale-down is told apart by asking the
// Kubernetes API for the StatefulSet's desired replicas: the pod's ordinal (the number after the
// last `-` of its name) at or above it is being scaled away. The pod's service account needs `get`
// on its StatefulSet (deploy/kubernetes/member-rbac.yaml).
//
// Never fails the stop: if the API or the cluster cannot be asked, it logs why and leaves the
// member configured (a scale-down then leaves a member to remove by hand:
// docs/guides/operations.md, "Shrink from five members to three").
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  listMembers,
  logLine,
  memberCall,
  memberSettings,
  whileUnreachable,
} from './member-api.mjs';

const step = 'member-leave';
const log = (message) => logLine(step, message);

const accountDir =
  process.env.KV_MEMBER_SERVICE_ACCOUNT_DIR ?? '/var/run/secrets/kubernetes.io/serviceaccount';

/** GETs a Kubernetes API path with the pod's service account token; resolves with the JSON. */
function kubernetesGet(path) {
  const api =
    process.env.KV_MEMBER_KUBERNETES_API ??
    `https://${process.env.KUBERNETES_SERVICE_HOST}:${process.env.KUBERNETES_SERVICE_PORT}`;
  const url = new URL(path, api);
  const token = readFileSync(`${accountDir}/token`, 'utf8').trim();
  const secure = url.protocol === 'https:';
  const request = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        timeout: 5000,
        ...(secure ? { ca: readFileSync(`${accountDir}/ca.crt`) } : {}),
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () =>
          response.statusCode === 200
            ? resolve(JSON.parse(body))
            : reject(
                new Error(`${url.pathname}: HTTP ${response.statusCode} ${body.slice(0, 200)}`),
              ),
        );
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${url.host}: no answer in 5 s`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

async function main() {
  const settings = memberSettings();
  const ordinalMatch = /^(.*)-(\d+)$/.exec(settings.name);
  if (ordinalMatch === null) {
    log(`${settings.name} is not a StatefulSet pod name: staying a member`);
    return;
  }
  const statefulSet = process.env.KV_MEMBER_STATEFULSET ?? ordinalMatch[1];
  const namespace =
    process.env.POD_NAMESPACE ?? readFileSync(`${accountDir}/namespace`, 'utf8').trim();
  const ordinal = Number(ordinalMatch[2]);
  const desired = await kubernetesGet(
    `/apis/apps/v1/namespaces/${namespace}/statefulsets/${statefulSet}`,
  );
  const replicas = desired.spec?.replicas ?? 1;
  if (ordinal < replicas) {
    log(`ordinal ${ordinal} < replicas ${replicas}: a restart, not a scale-down; staying a member`);
    return;
  }
  const self = (await listMembers(settings.endpoints)).find(
    (member) => member.name === settings.name || member.peerURLs.includes(settings.peerUrl),
  );
  if (self === undefined) {
    log(`${settings.name} is not a member: nothing to remove`);
    return;
  }
  log(`scale-down to ${replicas} replicas: removing ${settings.name} (${self.ID})`);
  // etcd refuses changes for a few seconds after a member connects ("unhealthy cluster").
  await whileUnreachable(20, () => memberCall(settings.endpoints, 'remove', { ID: self.ID }));
  log(`removed ${settings.name}`);
}

main().catch((error) => {
  log(`not removed: ${error.message}`);
});
