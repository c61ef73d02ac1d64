import { describe, expect, it } from 'vitest';
import { guidePictures } from './guide-pictures.js';
import { hybridClockPicture } from './hybrid-clock-picture.js';
import { lamportClockPicture } from './lamport-clock-picture.js';
import { linearizabilityPicture } from './linearizability-picture.js';
import { monotonicTimePicture } from './monotonic-time-picture.js';
import { readRepairPicture } from './read-repair-picture.js';
import { singleSocketChannelPicture } from './single-socket-channel-picture.js';
import { versionVectorPicture } from './version-vector-picture.js';
import { writeAheadLogPicture } from './write-ahead-log-picture.js';

describe('guide pictures', () => {
  it('each is a standalone SVG with a title and a description, drawn the same way twice', async () => {
    for (const picture of guidePictures) {
      const svg = await picture.draw();
      expect(svg, picture.id).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(svg, picture.id).toMatch(/<title id="title">[^<]+<\/title>/);
      expect(svg, picture.id).toMatch(/<desc id="desc">[^<]+<\/desc>/);
      expect(await picture.draw(), picture.id).toBe(svg);
    }
  });

  it('Lamport clock: the second write is stamped after the first it was caused by', () => {
    const svg = lamportClockPicture();
    expect(svg).toContain('athens ticks: x=1 stamped 1');
    expect(svg).toContain('byzantium witnesses 1: x=2 stamped 2');
    expect(svg).toContain('cyrene keeps x=2: stamp 2 &gt; 1');
  });

  it('hybrid clock: a clock 300 ms behind still stamps the later write later', () => {
    const svg = hybridClockPicture();
    expect(svg).toContain('athens stamps x=1 10:02:00.030+0');
    expect(svg).toContain('cyrene stamps x=2 10:02:00.030+1');
    expect(svg).toContain('athens keeps x=2');
  });

  it('version vector: the two carts are concurrent and both are kept', () => {
    const svg = versionVectorPicture();
    expect(svg).toContain('byzantium: new version is after: replace');
    expect(svg).toContain('athens: the versions are concurrent');
    expect(svg).toContain('{athens:2, cyrene:1}');
  });

  it('read repair: the read returns the newest value and repairs the stale replica', async () => {
    const svg = await readRepairPicture();
    expect(svg).toContain('write ok: 2 of 3 stored it');
    expect(svg).toContain('newest of 2 answers: Microservices v2');
    expect(svg).toContain('stale: cyrene; repair it');
    expect(svg).toContain('repaired: cyrene holds Microservices v2');
  });

  it('monotonic time: only the wall-clock detector is fooled by the jump', () => {
    const svg = monotonicTimePicture();
    expect(svg).toContain('wall clock: suspects athens (3600 s)');
    expect(svg).toMatch(/monotonic clock: suspects athens \(1000 ms\)/);
    // The monotonic detector suspects only after the crash (at 450 ms, last heartbeat at 420).
    expect(svg).toContain('<tspan font-weight="bold">1420 ms</tspan> monotonic clock: suspects');
  });

  it('linearizability: the report timeline marks the stale read', () => {
    const svg = linearizabilityPicture();
    expect(svg).toContain('<g class="failing">');
    expect(svg).toContain('g.failing rect{');
  });

  it('write-ahead log: the three appends share one fdatasync and survive the power loss', async () => {
    const svg = await writeAheadLogPicture();
    expect(svg.match(/>fdatasync</g)?.length).toBe(1);
    expect(svg).toContain('ok, index 3');
    expect(svg).toMatch(/recovery: entries 1\.\.[34]/);
  });

  it('single socket channel: three requests in flight, answered in order', () => {
    const svg = singleSocketChannelPicture();
    expect(svg.indexOf('ack 41')).toBeLessThan(svg.indexOf('ack 43'));
    expect(svg).toContain('partial frame dropped (12-byte header)');
  });
});
