/**
 * The proxy on the peer links of a local cluster (`kv-node cluster`), so the dashboard can
 * partition a member. Each member stays known by its usual peer URL, where the proxy now
 * listens; the member itself listens one port up, and only the proxy dials it there.
 */

import { memberIdOf } from '../config/member-id.js';
import type { LocalMemberPlan } from './local-cluster-plan.js';
import { LOCAL_CLUSTER_TOKEN } from './local-cluster-plan.js';
import { LinkProxy } from './link-proxy.js';
import type { Random } from './link-proxy.js';

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/**
 * Starts one proxy listener per member on its advertised peer port. A member does not know the
 * proxy is there, so the proxy tells who dials by the dialer's name or member id in the first
 * bytes of the connection (the transport's hello names both ends).
 *
 * @param members the plan of the cluster ({@link LocalMemberPlan.peerUrl} is where the proxy
 *   listens, {@link LocalMemberPlan.listenPeerUrl} where it forwards).
 * @param random only used by `drop` and `delay` rules, which the launcher does not set.
 * @throws Error (e.g. `EADDRINUSE`) if a peer port cannot be bound; nothing is left listening.
 */
export function startLocalPeerProxy(
  members: readonly LocalMemberPlan[],
  random: Random,
): Promise<LinkProxy> {
  return LinkProxy.start({
    targets: members.map((member) => ({
      name: member.name,
      host: '127.0.0.1',
      port: portOf(member.listenPeerUrl),
      sharedPort: portOf(member.peerUrl),
    })),
    linkListeners: false,
    random,
    sourceMarkers: new Map(
      members.map((member) => [
        member.name,
        [Buffer.from(member.name), Buffer.from(memberIdOf([member.peerUrl], LOCAL_CLUSTER_TOKEN))],
      ]),
    ),
  });
}
