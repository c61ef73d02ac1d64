// @x/transport-tcp: Framed, authenticated TCP peer messaging: a single socket channel per peer with request pipelining.
export {};
