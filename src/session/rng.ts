// Kept until test/security/replayRace.ts, which has uncommitted edits in the main checkout, imports base/ directly.
export { SeededRng, type Rng } from '../base/rng.ts';
