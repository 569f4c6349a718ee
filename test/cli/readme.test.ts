/**
 * The README holds up against the code: every relay flag and config key, every bering metric and
 * every problem kind it can report are documented, and the quick start is the three npm commands.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/cli/config.ts';
import { RELAY_FLAGS } from '../../src/cli/relayOptions.ts';
import { PROBLEM_KINDS } from '../../src/io/diagnosis.ts';
import { METRICS } from '../../src/metrics/registry.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('starts with npm install, npm start, npm test', () => {
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
    expect(quick).toMatch(/```sh\nnpm install\nnpm start\n```/);
    expect(quick).toMatch(/```sh\nnpm test\n```/);
  });

  it('documents every relay flag and config key', () => {
    for (const flag of Object.keys(RELAY_FLAGS)) expect(readme, `--${flag}`).toContain(`--${flag}`);
    for (const key of CONFIG_KEYS) expect(readme, key).toContain(`\`${key}\``);
  });

  it('documents every metric and problem kind', () => {
    for (const m of METRICS) expect(readme, m.name).toContain(m.name);
    for (const kind of PROBLEM_KINDS) expect(readme, kind).toContain(`\`${kind}\``);
  });
});
