// @x/generation-clock: A durable, monotonically increasing generation (epoch, term) that lets a cluster reject the past.
export {};
