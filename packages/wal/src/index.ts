// @x/wal: Write-ahead log: a durable, segmented, checksummed log with group commit, crash recovery and low-water-mark cleanup.
export {};
