/**
 * A handshake flood against a real exit relay during a live transfer (./flood.ts): the flooder
 * gets back nothing but the one answer its authentic init earned, smaller than the init, and the
 * transfer arrives intact. Goodput against a run without the flood, and the exit relay's CPU,
 * are timing claims for a quiet machine: bench/security.ts.
 */
import { expect, it } from 'vitest';
import { floodRun } from './flood.ts';

it('answers a flood of bogus and replayed handshakes once, never larger than the init, while a transfer goes through intact', async () => {
  const { report, init, during } = await floodRun({ baseline: false });
  const context = JSON.stringify(report);
  expect(during.intact, during.detail).toBe(true);
  // The flood reached the relay in earnest: thousands of each kind.
  expect(report.sent.forged, context).toBeGreaterThan(1000);
  expect(report.sent.replayed, context).toBeGreaterThan(1000);
  expect(report.sent.garbage, context).toBeGreaterThan(1000);
  // The authentic init is answered once; its replays, the forgeries and the garbage never.
  expect(report.received.datagrams, context).toBe(1);
  expect(report.received.largest, context).toBeLessThanOrEqual(init.length);
});
