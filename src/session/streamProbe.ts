/**
 * Where a stream's bytes are when a {@link StreamProbe} hears of them, in the order they pass:
 * written by the sending application, first sent on a path, arrived in a packet from the wire
 * or restored by FEC (the receiver's; a byte may arrive more than once), read in order by the
 * receiving application.
 */
export const StreamStage = { Written: 0, Sent: 1, Arrived: 2, Restored: 3, Read: 4 } as const;
export type StreamStage = (typeof StreamStage)[keyof typeof StreamStage];

/**
 * Watches a stream's bytes pass each {@link StreamStage}, to decompose the delay a live stream
 * sees into time spent in the sender's buffer, in flight, and waiting at the receiver for the
 * bytes before them (bench/delayBreakdown.ts; `BERING_STREAM_TRACE` on real relays). Called in
 * the data path, once per write, read and frame: it stamps the time itself and must be cheap.
 * Absent unless asked for.
 */
export interface StreamProbe {
  /** Bytes [from, to) of stream `streamId` reached `stage`. */
  onBytes(stage: StreamStage, streamId: number, from: number, to: number): void;
}
