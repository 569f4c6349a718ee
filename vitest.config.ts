import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // One module graph per worker, not per file: re-importing the sources, the wasm and sodium for
    // each of ~100 files cost a quarter of the suite's CPU (222 s -> 168 s). Tests share no
    // mutable module state; the one that fakes timers restores them after each test.
    isolate: false,
    // Vitest's default leaves a core idle; the suite is mostly waiting on simulated and real
    // sockets, and every test holds on a machine busier than this.
    maxWorkers: availableParallelism(),
    // Relays started by tests skip their second of start-up warm-up (test/relay/warmUp.test.ts
    // covers it): dozens of them would otherwise compete for the CPU with every other test.
    env: { BERING_WARM_UP: '0' },
  },
});
