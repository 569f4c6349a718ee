/**
 * The contract between the bench orchestrator and its workload endpoints (`endpoint.ts`): the
 * workloads, the JSON-line commands and events, the CBR chunk framing and the shared clock.
 */

/**
 * What one connection carries. `down` is service -> viewer (the heavy way for Plex), `up` viewer
 * -> service; the endpoint on the sending side writes, the other one receives and reports.
 */
export type WorkloadSpec =
  | { kind: 'bulk'; direction: 'down' | 'up'; bytes: number }
  | { kind: 'cbr'; direction: 'down' | 'up'; rateMbps: number; chunkBytes: number; durationMs: number };

export type Command =
  | { op: 'connect'; id: string; target: { host: string; port: number }; spec: WorkloadSpec }
  | { op: 'stop'; id: string };

/**
 * What a receiver saw. `delays` (CBR only): per chunk, delivery delay in ms or null if missing;
 * `stamps`: per chunk, the send time it carried (monotonic ms) or null.
 */
export interface ReceiveResult {
  bytes: number;
  firstByteAt: number | null;
  lastByteAt: number | null;
  complete: boolean;
  error: string | null;
  delays?: Array<number | null>;
  stamps?: Array<number | null>;
}

export type Event =
  | { ev: 'ready'; port: number | null }
  | { ev: 'started'; id: string; at: number }
  | { ev: 'progress'; id: string; bytes: number; at: number }
  | { ev: 'done'; id: string; result: ReceiveResult }
  | { ev: 'fatal'; message: string };

/** Bytes at the start of each CBR chunk: u32 sequence number, f64 send time (ms). */
export const CBR_HEADER_BYTES = 12;

/** The shared monotonic clock, ms. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Chunk count of a CBR spec. */
export function cbrChunks(spec: { rateMbps: number; chunkBytes: number; durationMs: number }): number {
  return Math.max(1, Math.round((spec.durationMs / 1000) * ((spec.rateMbps * 1e6) / 8) / spec.chunkBytes));
}

/** Time between two chunks of a CBR spec, ms. */
export function cbrIntervalMs(spec: { rateMbps: number; chunkBytes: number }): number {
  return ((spec.chunkBytes * 8) / (spec.rateMbps * 1e6)) * 1000;
}
