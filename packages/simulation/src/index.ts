// @x/simulation: Deterministic simulation of whole clusters: virtual time, network, disks, crashes and invariant checks.
export {};
