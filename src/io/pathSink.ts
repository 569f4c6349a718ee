/**
 * Where the listening side sends one path of one session: the last authenticated UDP source
 * (src/io/udpListener.ts), or the WebRTC data channel the path arrived on
 * (src/io/webrtcEndpoint.ts). The core's packets are the same bytes either way.
 */
export interface PathSink {
  /** Sends one bering packet; `bytes` belongs to the callee. Drops it if the path cannot carry it now. */
  send(bytes: Uint8Array): void;
  /** The peer, for logs and the status endpoint. */
  readonly peer: string;
}
