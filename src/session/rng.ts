// Kept until the files being edited in /work/main (session.ts, test/security/replayRace.ts) import base/ directly.
export { SeededRng, type Rng } from '../base/rng.ts';
