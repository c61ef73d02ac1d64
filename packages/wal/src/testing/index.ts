// Test doubles for @x/wal.
export {};
