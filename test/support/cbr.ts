import type { SessionConfig } from '../../src/session/config.ts';
import type { Session } from '../../src/session/session.ts';
import type { HostConfig } from '../../src/sim/host.ts';
import type { PathSpec } from '../../src/sim/network.ts';
import { checkPattern, patternChunk, tunnelPair } from './tunnelPair.ts';
import { breakDown, type DelayBreakdown } from '../../bench/delayBreakdown.ts';
import { SimStreamTrace } from './simStreamTrace.ts';

/** What the download writes at a time: its buffers then stay full. */
const DOWNLOAD_WRITE_BYTES = 32 * 1024;

export interface CbrResult {
  chunksSent: number;
  chunksReceived: number;
  corrupt: boolean;
  /** One-way delay of each chunk (last byte delivered minus write time), ms, in send order. */
  delays: number[];
  senderStats: ReturnType<Session['stats']>;
  receiverStats: ReturnType<Session['stats']>;
  /** Bytes of the download (see `download`) that arrived intact while the stream ran. */
  downloadBytes: number;
  /** With `breakdown`: where each chunk's delay went (bench/delayBreakdown.ts), and the raw probe calls. */
  breakdown?: DelayBreakdown;
  probes?: { sender: SimStreamTrace; receiver: SimStreamTrace };
}

/**
 * A constant-bit-rate stream, like a 4K remux played in real time: `chunkBytes` written every
 * chunkBytes*8/rateMbps ms from the listener (the exit relay, next to Plex) to the dialer.
 */
export function runCbr(opts: {
  paths: PathSpec[];
  seed: number;
  rateMbps: number;
  durationMs: number;
  chunkBytes?: number;
  /**
   * Chunks handed to the session at once (default 1): a relay that reads several chunks from
   * TCP in one go, as after a busy turn of its event loop. Each chunk's delay still counts from
   * when its source produced it.
   */
  chunksPerWrite?: number;
  fec: boolean;
  config?: Partial<SessionConfig>;
  setup?: (net: ReturnType<typeof tunnelPair>['net']) => void;
  /** Run both ends on modelled hosts (CPU per packet, timers). */
  host?: HostConfig;
  /**
   * A download shares the session from this many ms into the stream: a second stream the listener
   * keeps as full as its buffers allow.
   */
  downloadFromMs?: number;
  /** Open the stream no earlier than this (the session idles until then, keep-alives only), as `runBulk` does. */
  startAtMs?: number;
  /** How many downloads join at `downloadFromMs` (default 1). */
  downloads?: number;
  /**
   * How fast each download's source feeds the session (default: at once, as far as its buffers
   * allow). A real relay reads a download from TCP: on loopback some 300 Mbit/s, so its send
   * buffer takes a while to fill, and until it does the download looks like a live stream.
   */
  downloadSourceMbps?: number;
  /** From this many ms into the stream the viewer stops reading the downloads (a paused player). */
  downloadsPauseAtMs?: number;
  /** Probe both sessions and split each chunk's delay by stage. */
  breakdown?: boolean;
  /**
   * Before the stream the viewer fetches this many bytes on a stream of their own, as a player
   * reads a manifest before the video; the stream opens once they are in (and not before `startAtMs`).
   */
  preambleBytes?: number;
}): CbrResult {
  const chunkBytes = opts.chunkBytes ?? 16 * 1024;
  const intervalMs = (chunkBytes * 8) / (opts.rateMbps * 1000);
  const chunksPerWrite = opts.chunksPerWrite ?? 1;
  const probes = opts.breakdown === true ? { sender: new SimStreamTrace(), receiver: new SimStreamTrace() } : undefined;
  const { dialer, listenerNode, net, wake } = tunnelPair({
    paths: opts.paths,
    seed: opts.seed,
    fec: opts.fec,
    config: opts.config,
    host: opts.host,
    probes: probes === undefined ? undefined : { dialer: probes.receiver, listener: probes.sender },
  });
  if (probes !== undefined) probes.sender.clock = probes.receiver.clock = () => net.now;
  opts.setup?.(net);
  const writeTimes: number[] = [];
  const delays: number[] = [];
  let streamId = -1;
  let serverStream = -1;
  let received = 0;
  let corrupt = false;
  let started = -1;
  let written = 0;
  /** Bytes the source has handed over; what the session refused waits here, as in a relay's socket. */
  let released = 0;
  const writeReleased = (server: Session): void => {
    while (written < released) {
      const length = Math.min(chunkBytes - (written % chunkBytes), released - written);
      const took = server.streamWrite(serverStream, patternChunk(written, length));
      written += took;
      if (took < length) return;
    }
  };
  const downloadCount = opts.downloads ?? 1;
  const downloadIds: number[] = [];
  const serverDownloads: number[] = [];
  const downloadWritten: number[] = [];
  const downloadReceived: number[] = [];
  let downloadAtEnd = -1;
  let downloadsFrom = 0;
  const downloadTotal = (): number => downloadReceived.reduce((a, b) => a + b, 0);
  let preambleLeft = opts.preambleBytes ?? 0;
  let preambleId = -1;
  let preambleServer = -1;
  net.onStep((now) => {
    const server = listenerNode.peerOf(dialer);
    if (preambleLeft > 0 && preambleId < 0 && dialer.isConnected) {
      preambleId = dialer.openStream('meta')!;
      dialer.streamWrite(preambleId, new Uint8Array([0]));
      wake(now);
    }
    if (preambleId >= 0) {
      for (let r = dialer.streamRead(preambleId); r !== null && r !== 'fin'; r = dialer.streamRead(preambleId)) preambleLeft -= r.length;
    }
    if (streamId < 0 && preambleLeft === 0 && dialer.isConnected && now >= (opts.startAtMs ?? 0)) {
      streamId = dialer.openStream('plex')!;
      dialer.streamWrite(streamId, new Uint8Array([0]));
      wake(now);
    }
    if (opts.downloadFromMs !== undefined && downloadIds.length === 0 && started >= 0 && now - started >= opts.downloadFromMs) {
      for (let i = 0; i < downloadCount; i++) {
        const id = dialer.openStream('files')!;
        dialer.streamWrite(id, new Uint8Array([0]));
        downloadIds.push(id);
        downloadReceived.push(0);
      }
      downloadsFrom = now;
      wake(now);
    }
    for (let ev = dialer.pollEvent(); ev !== null; ev = dialer.pollEvent());
    if (server !== undefined) {
      for (let ev = server.pollEvent(); ev !== null; ev = server.pollEvent()) {
        if (ev.type === 'streamOpened') {
          if (preambleId >= 0 && preambleServer < 0) {
            preambleServer = ev.streamId;
            server.streamWrite(preambleServer, patternChunk(0, opts.preambleBytes!));
            wake(now);
          } else if (serverStream < 0) serverStream = ev.streamId;
          else {
            serverDownloads.push(ev.streamId);
            downloadWritten.push(0);
          }
        }
      }
      if (serverStream >= 0) {
        server.streamRead(serverStream);
        if (written < released) writeReleased(server);
      }
      for (const [i, id] of serverDownloads.entries()) {
        server.streamRead(id);
        const sourced = opts.downloadSourceMbps === undefined ? Infinity : ((now - downloadsFrom) * opts.downloadSourceMbps * 1000) / 8;
        let took = 0;
        do {
          const length = Math.min(DOWNLOAD_WRITE_BYTES, sourced - downloadWritten[i]);
          if (length <= 0) break;
          took = server.streamWrite(id, patternChunk(downloadWritten[i], length));
          downloadWritten[i] += took;
        } while (took === DOWNLOAD_WRITE_BYTES);
      }
    }
    if (serverStream >= 0 && started < 0) {
      started = now;
      net.every(intervalMs, (t) => {
        if (t - started >= opts.durationMs) return false;
        writeTimes.push(t);
        if (writeTimes.length % chunksPerWrite !== 0 && t + intervalMs - started < opts.durationMs) return;
        released = writeTimes.length * chunkBytes;
        writeReleased(server!);
        wake(t);
        net.kick();
      });
    }
    if (streamId >= 0) {
      for (let r = dialer.streamRead(streamId); r !== null && r !== 'fin'; r = dialer.streamRead(streamId)) {
        wake(now);
        if (checkPattern(received, r) >= 0) corrupt = true;
        const before = Math.floor(received / chunkBytes);
        received += r.length;
        for (let c = before; c < Math.floor(received / chunkBytes); c++) delays.push(now - writeTimes[c]);
      }
    }
    const paused = opts.downloadsPauseAtMs !== undefined && started >= 0 && now - started >= opts.downloadsPauseAtMs;
    for (const [i, id] of downloadIds.entries()) {
      if (paused) break;
      for (let r = dialer.streamRead(id); r !== null && r !== 'fin'; r = dialer.streamRead(id)) {
        wake(now);
        if (checkPattern(downloadReceived[i], r) >= 0) corrupt = true;
        downloadReceived[i] += r.length;
      }
    }
    if (downloadIds.length > 0 && started >= 0 && downloadAtEnd < 0 && now - started >= opts.durationMs) downloadAtEnd = downloadTotal();
  });
  net.runUntil(opts.durationMs + (opts.startAtMs ?? 0) + 5000, () => started >= 0 && writeTimes.length > 0 && delays.length === Math.ceil(opts.durationMs / intervalMs));
  const breakdown =
    probes === undefined
      ? undefined
      : breakDown(
          delays.map((d, c) => ({ stampedAt: writeTimes[c], arrivedAt: writeTimes[c] + d })),
          chunkBytes,
          streamId,
          probes.sender.marks(),
          probes.receiver.marks(),
        );
  return {
    breakdown,
    probes,
    chunksSent: writeTimes.length,
    chunksReceived: delays.length,
    corrupt,
    delays,
    senderStats: listenerNode.peerOf(dialer)!.stats(),
    receiverStats: dialer.stats(),
    downloadBytes: downloadAtEnd < 0 ? downloadTotal() : downloadAtEnd,
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
