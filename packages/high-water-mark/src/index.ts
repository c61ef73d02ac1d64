// @x/high-water-mark: High-water-mark tracking for leader and followers, and a request waiting list keyed by log index.
export {};
