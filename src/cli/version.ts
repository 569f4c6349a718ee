/** The package version, as `bering --version` prints it and the metrics endpoint reports it. */
import { readFileSync } from 'node:fs';

let cached: string | null = null;

/** Reads package.json once. */
export function version(): string {
  if (cached === null) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    cached = pkg.version;
  }
  return cached;
}
