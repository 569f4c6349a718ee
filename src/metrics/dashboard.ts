/**
 * The dashboard page the metrics endpoint serves at `/`: an HTML page, its stylesheet and its
 * script (src/metrics/dashboard/), plain files served as they are, so the page needs no build step
 * and no asset from anywhere but the relay. Read once, when the endpoint starts.
 */
import { readFileSync } from 'node:fs';

/** A file the endpoint serves: its media type and contents. */
export interface Asset {
  type: string;
  body: string;
}

/**
 * Only the relay's own files: scripts and styles from this origin, data fetched from it, nothing
 * inline and nothing from elsewhere.
 */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";

/** The page and its files (script, stylesheet, icon), by URL path. */
export function dashboardAssets(): ReadonlyMap<string, Asset> {
  const read = (name: string) => readFileSync(new URL(`./dashboard/${name}`, import.meta.url), 'utf8');
  return new Map([
    ['/', { type: 'text/html; charset=utf-8', body: read('index.html') }],
    ['/dashboard.js', { type: 'text/javascript; charset=utf-8', body: read('dashboard.js') }],
    ['/dashboard.css', { type: 'text/css; charset=utf-8', body: read('dashboard.css') }],
    ['/favicon.svg', { type: 'image/svg+xml', body: read('favicon.svg') }],
  ]);
}
