// @x/leader-follower: Leader election and log replication composed from the pattern packages, with Raft-grade safety.
export {};
