/**
 * The proxy on the peer links of a local cluster (`kv-node cluster`), so the dashboard can
 * partition a member. Each member stays known by its usual peer URL, where the proxy now
 * listens; the member itself listens one port up, and only the proxy dials it there.
 */

import { memberIdOf } from '../config/member-id.js';
import type { LocalMemberPlan, LocalMemberSlot } from './local-cluster-plan.js';
import { LOCAL_CLUSTER_TOKEN } from './local-cluster-plan.js';
import { LinkProxy } from './link-proxy.js';
import type { Random } from './link-proxy.js';

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** The launcher's peer proxy, which members added at run time can join. */
export interface LocalPeerProxy {
  readonly proxy: LinkProxy;
  /**
   * Opens the proxy's listener on an added member's advertised peer port (before the member is
   * added to the cluster, so a taken port fails with nothing to undo). Nothing happens for a
   * member the proxy knows.
   * @throws Error (e.g. `EADDRINUSE`) if the port cannot be bound.
   */
  listenFor(member: LocalMemberSlot): Promise<void>;
  /**
   * Tells the proxy how an added member names itself on its connections: its name and its
   * member id in decimal and in hex (a member added at run time is known to its peers by the
   * hex id). Call before the member starts.
   */
  identify(member: LocalMemberSlot, memberId: string): void;
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
export async function startLocalPeerProxy(
  members: readonly LocalMemberPlan[],
  random: Random,
): Promise<LocalPeerProxy> {
  // Read by the proxy at each connection, so markers of members added later take effect.
  const markers = new Map<string, Uint8Array[]>(
    members.map((member) => [
      member.name,
      [Buffer.from(member.name), Buffer.from(memberIdOf([member.peerUrl], LOCAL_CLUSTER_TOKEN))],
    ]),
  );
  const targetOf = (member: LocalMemberSlot) => ({
    name: member.name,
    host: '127.0.0.1',
    port: portOf(member.listenPeerUrl),
    sharedPort: portOf(member.peerUrl),
  });
  const proxy = await LinkProxy.start({
    targets: members.map(targetOf),
    linkListeners: false,
    random,
    sourceMarkers: markers,
  });
  const known = new Set(members.map((member) => member.name));
  return {
    proxy,
    async listenFor(member) {
      if (known.has(member.name)) return;
      await proxy.addTarget(targetOf(member));
      known.add(member.name);
    },
    identify(member, memberId) {
      markers.set(member.name, [
        Buffer.from(member.name),
        Buffer.from(memberId),
        Buffer.from(BigInt(memberId).toString(16)),
      ]);
    },
  };
}
