/**
 * The dashboard at `GET /` of the metrics endpoint, in a real headless browser (Debian's
 * chromium, driven by playwright-core): over a live two-path tunnel between two relays in this
 * process, the page renders, shows both paths up with a chart line each, updates every second,
 * and loads nothing from anywhere but the relay. CI installs chromium (.ci/run); without it the
 * test says so and skips.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatHostPort } from '../../src/io/address.ts';
import { startMetricsServer, type MetricsServer } from '../../src/metrics/server.ts';
import { relayStatus } from '../../src/relay/status.ts';
import { sessionCore, startRelay, type Relay } from '../../src/relay/startRelay.ts';
import { randomBytes } from 'node:crypto';
import { Service, until } from '../relay/harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`dashboard browser test skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`);

let service: Service;
let exit: Relay;
let entry: Relay;
let metrics: MetricsServer;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  const log = pino({ level: 'silent' });
  const psk = randomBytes(32);
  service = await Service.start();
  const any = { host: '127.0.0.1', port: 0 };
  exit = await startRelay({ tcp: { forward: service.address }, udp: { listen: [any, any] }, core: sessionCore(psk), log });
  entry = await startRelay({ tcp: { listen: any }, udp: { peers: exit.udpAddresses }, core: sessionCore(psk), log });
  const startedAt = performance.now();
  metrics = await startMetricsServer({ listen: any, status: () => relayStatus(entry, '0.0.0', startedAt), log });
  await until(() => relayStatus(entry, '0.0.0', startedAt).sessions[0]?.paths.filter((p) => p.state === 'up').length === 2, 10_000, 'both paths up');
  profile = mkdtempSync(join(tmpdir(), 'bering-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  await metrics?.close();
  await Promise.all([entry?.stop(0), exit?.stop(0)]);
  await service?.close();
});

describe.skipIf(!HAVE_CHROMIUM)('dashboard page in headless chromium', () => {
  it('renders both paths of a live two-path tunnel, charts them, and updates, with nothing but the relay\'s own files', async () => {
    const page = await context.newPage();
    const origin = `http://${formatHostPort(metrics.address)}`;
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const res = await page.goto(`${origin}/`);
    expect(res?.status()).toBe(200);
    await page.waitForFunction(() => Number(document.body.dataset.updates) >= 1, undefined, { timeout: 10_000 });

    // A busy host can hold a path's keep-alive past its silence limit for a moment: the page
    // must show both up again within a few updates.
    await page
      .waitForFunction(() => / up with 2 of 2 paths up$/.test(document.querySelector('#health')?.textContent ?? ''), undefined, { timeout: 10_000 })
      .catch(() => undefined);
    expect(await page.textContent('#health')).toMatch(/^OK: session [0-9a-f]{16} up with 2 of 2 paths up$/);
    const rows = await page.$$eval('#paths tbody tr', (trs) => trs.map((tr) => ({ path: tr.getAttribute('data-path'), state: tr.getAttribute('data-state'), peer: tr.children[2].textContent })));
    expect(rows).toEqual(exit.udpAddresses.map((a, i) => ({ path: String(i), state: 'up', peer: formatHostPort(a) })));

    // Wait for two points with both paths' RTT, then for the page to draw more of them.
    await page.waitForFunction(() => document.querySelectorAll('figure[data-chart="rttMs"] polyline').length === 2, undefined, { timeout: 10_000 });
    const series = await page.$$eval('figure[data-chart="rttMs"] polyline', (ls) => ls.map((l) => l.getAttribute('data-series')));
    expect(series.sort()).toEqual(['path 0', 'path 1']);
    const pointsNow = () => page.$eval('figure[data-chart="rttMs"] polyline', (l) => (l.getAttribute('points') ?? '').split(' ').length);
    const before = { updates: Number(await page.getAttribute('body', 'data-updates')), points: await pointsNow() };
    await page.waitForFunction((n) => Number(document.body.dataset.updates) >= n + 2, before.updates, { timeout: 10_000 });
    expect(await pointsNow()).toBeGreaterThan(before.points);
    expect(await page.$$eval('figure[data-chart]', (fs) => fs.map((f) => f.getAttribute('data-chart')))).toEqual([
      'rttMs',
      'sendBps',
      'recvBps',
      'lossRaw',
      'lossAfterFec',
      'fecOverhead',
    ]);

    expect(errors).toEqual([]);
    expect(requests.length).toBeGreaterThan(3);
    for (const url of requests) expect(new URL(url).origin, url).toBe(origin);
    await page.close();
  }, 60_000);
});
