// @x/quorum: Majority math, quorum calls, read and write quorums, and read repair.
export {};
