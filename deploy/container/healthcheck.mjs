#!/usr/bin/env node
// Container health check: exits 0 when this member's /readyz answers 200 (it knows a leader and
// is not shutting down), 1 otherwise. It asks the first client URL the member listens on, taken
// from the same KV_NODE_LISTEN_CLIENT_URLS the member reads, with a wildcard host replaced by
// loopback. An https URL is checked without verifying the certificate: the check talks to its own
// process, and a member that requires client certificates needs its own probe.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const timeoutMs = 2000;
const listenUrls = process.env.KV_NODE_LISTEN_CLIENT_URLS ?? 'http://127.0.0.1:2379';
const url = new URL('/readyz', listenUrls.split(',')[0].trim());
if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
if (url.hostname === '[::]') url.hostname = '[::1]';

const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
const probe = request(
  url,
  { method: 'GET', timeout: timeoutMs, rejectUnauthorized: false },
  (response) => {
    response.resume();
    process.exitCode = response.statusCode === 200 ? 0 : 1;
  },
);
probe.on('timeout', () => probe.destroy(new Error(`no answer within ${timeoutMs} ms`)));
probe.on('error', (error) => {
  process.stderr.write(`healthcheck: ${url.href}: ${error.message}\n`);
  process.exitCode = 1;
});
probe.end();
