/**
 * What the proxy does with the bytes of one directed peer link (from → to). The proxy never looks
 * inside the bytes, so faults are modelled at the level a TCP stream can have them: a connection
 * is slow, is cut, or goes silent; bytes are never reordered inside a live stream, and corrupted
 * only by `tamper`, which plays an on-path attacker (TCP's own checksum would catch line noise).
 *
 * - `pass`: forward at once.
 * - `delay`: hold each chunk `delayMs` plus up to `jitterMs` (milliseconds), order preserved.
 * - `drop`: each chunk, with `probability`, is lost together with its connection (as when a link
 *   flaps and TCP gives up): the peers see a connection reset and must reconnect.
 * - `blackhole`: a partition. Existing connections are cut when the rule is set; new connections
 *   are accepted but every byte is discarded (nothing answers, as with a dropped-packets firewall
 *   rule), and those connections are cut when the link heals.
 * - `tamper`: an on-path attacker. Each chunk, with `probability`, has one byte at a random
 *   position XORed with a random non-zero mask before it is forwarded; the first `afterBytes`
 *   bytes of each direction of a connection (default 0, e.g. the handshake) are never touched.
 *   Peers must detect the change (an authenticated channel) and drop the connection.
 */
export type LinkRule =
  | { readonly kind: 'pass' }
  | { readonly kind: 'delay'; readonly delayMs: number; readonly jitterMs: number }
  | { readonly kind: 'drop'; readonly probability: number }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'tamper'; readonly probability: number; readonly afterBytes?: number };

/** The rule of a healthy link. */
export const passRule: LinkRule = { kind: 'pass' };

/** A short human description of a rule, for progress lines and results. */
export function describeRule(rule: LinkRule): string {
  switch (rule.kind) {
    case 'pass':
      return 'pass';
    case 'delay':
      return `delay ${rule.delayMs}±${rule.jitterMs} ms`;
    case 'drop':
      return `drop ${Math.round(rule.probability * 100)}%`;
    case 'blackhole':
      return 'blackhole';
    case 'tamper':
      return `tamper ${Math.round(rule.probability * 100)}%`;
  }
}
