/** Called with the peer whose suspicion state changed. */
export type PeerListener = (peer: string) => void;

/**
 * Decides, from the heartbeats it has received, which peers are suspected to have failed.
 *
 * A suspicion is a guess, not a fact: a slow network or a paused peer looks exactly like a crashed
 * one. Suspicion is therefore reversible; a heartbeat from a suspected peer makes it recover.
 *
 * Time comes only from a monotonic `Clock`, so a wall-clock jump never causes or hides a
 * suspicion. Peers are watched from their first heartbeat or from {@link FailureDetector.watch};
 * a peer never watched is never suspected.
 */
export interface FailureDetector {
  /** Records a heartbeat (or any message) from `peer` at the clock's current time; starts watching it. */
  heartbeatReceived(peer: string): void;
  /**
   * Starts watching `peer` as if it had just sent a heartbeat, so a peer that never says anything
   * is suspected once its grace period passes. Does nothing for a peer already watched.
   */
  watch(peer: string): void;
  /** Stops watching `peer` and forgets its history; no event is emitted for it afterwards. */
  forget(peer: string): void;
  /** Whether `peer` is suspected now; `false` for a peer not watched. */
  isSuspected(peer: string): boolean;
  /** The peers suspected now, in the order they were first watched. */
  suspectedPeers(): string[];
  /** The peers being watched, in the order they were first watched. */
  watchedPeers(): string[];
  /**
   * Registers a listener called when a peer becomes suspected. With a `Timers` port the
   * detector notices this on time by itself; without one, when it is next asked or sent a heartbeat.
   *
   * @returns a function that unregisters the listener
   */
  onSuspected(listener: PeerListener): () => void;
  /**
   * Registers a listener called when a suspected peer is heard from again.
   *
   * @returns a function that unregisters the listener
   */
  onRecovered(listener: PeerListener): () => void;
  /** Cancels the detector's timers and forgets every peer. The detector must not be used afterwards. */
  close(): void;
}
