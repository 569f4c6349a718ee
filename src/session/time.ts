// Kept until the files being edited in /work/main (path.ts, pathValidation.ts, session.ts) import base/ directly.
export type { Millis, UnixMillis } from '../base/time.ts';
