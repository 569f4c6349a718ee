/**
 * node-datachannel (libdatachannel bindings), loaded on first use: it is an optional dependency,
 * and a relay without WebRTC paths never loads it. This module also owns its process-wide state:
 * libdatachannel keeps native threads alive (and with them the process) until `cleanup()`, so
 * every peer connection is opened and closed here, and `cleanup()` runs when the last one closes.
 */
import type NodeDataChannel from 'node-datachannel';
import type { DataChannel, PeerConnection, RtcConfig } from 'node-datachannel';
import type { PathSink } from './pathSink.ts';

type Native = typeof NodeDataChannel;

/** node-datachannel could not be loaded (not installed, or no prebuilt binary for this system). */
export class WebRtcUnavailableError extends Error {
  override readonly name = 'WebRtcUnavailableError';
  constructor(reason: string) {
    super(`WebRTC paths need the optional package node-datachannel, which cannot be loaded here (${reason}); install it with 'npm install node-datachannel', or use UDP paths only`);
  }
}

let native: Promise<Native> | null = null;
let livePeers = 0;

/** Loads node-datachannel once; rejects with a {@link WebRtcUnavailableError}. */
export function loadNative(): Promise<Native> {
  native ??= import('node-datachannel').then(
    (m) => m.default,
    (err: unknown) => {
      native = null;
      throw new WebRtcUnavailableError(err instanceof Error ? err.message.split('\n')[0] : String(err));
    },
  );
  return native;
}

/** One peer connection, counted so the native side is torn down when the last one closes. */
export class RtcPeer {
  readonly pc: PeerConnection;
  private closed = false;

  constructor(
    private readonly nd: Native,
    name: string,
    config: RtcConfig,
  ) {
    this.pc = new nd.PeerConnection(name, config);
    livePeers++;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves once ICE gathering is complete, or after `timeoutMs` (then with what was gathered). */
  gathered(timeoutMs: number): Promise<void> {
    return new Promise((ok) => {
      const timer = setTimeout(ok, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        ok();
      };
      this.pc.onGatheringStateChange((state) => {
        if (state === 'complete') done();
      });
      if (this.pc.gatheringState() === 'complete') done();
    });
  }

  /** The local description with every candidate gathered so far in it. */
  localSdp(): string {
    const d = this.pc.localDescription();
    if (d === null) throw new Error('no local description');
    return d.sdp;
  }

  /** The remote end of the selected ICE candidate pair, as host:port; '?' before ICE connects. */
  remoteAddress(): string {
    const remote = this.pc.getSelectedCandidatePair()?.remote;
    return remote === undefined ? '?' : remote.address.includes(':') ? `[${remote.address}]:${remote.port}` : `${remote.address}:${remote.port}`;
  }

  /** Closes the connection (idempotent); the last close in the process tears libdatachannel down. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    if (--livePeers === 0) this.nd.cleanup();
  }
}

/**
 * The data channel options of a bering path: unordered and never retransmitted, so it behaves
 * like the UDP datagrams it replaces; bering does its own loss recovery.
 */
export const CHANNEL_LABEL = 'bering';
export const CHANNEL_INIT = { unordered: true, maxRetransmits: 0 } as const;

/**
 * Bytes a channel may hold queued in libdatachannel before further packets are dropped. SCTP
 * under the channel runs its own congestion window; when bering's pacer outruns it, queueing
 * without bound would only add delay (a UDP socket drops when its buffer is full, too). 256 KiB
 * is ~20 ms at 100 Mbit/s.
 */
const MAX_BUFFERED_BYTES = 256 * 1024;

/**
 * libdatachannel hands a sent message to SCTP on its own threads, with no completion callback; a
 * close right after a send overtakes it (seen on loopback: a session's close packet lost, the peer
 * waiting out its idle timeout). A short wait before closing lets it leave.
 */
const SETTLE_MS = 20;

/** A data channel as a path: sends bering packets, counts what it had to drop. */
export class ChannelSink implements PathSink {
  private open = false;
  /** Packets dropped because the channel was not open or its queue was full. */
  dropped = 0;

  constructor(
    readonly channel: DataChannel,
    readonly peer: string,
  ) {}

  /** Call from the channel's onOpen (and on the answerer, right away: its channel arrives open). */
  markOpen(): void {
    this.open = true;
  }

  markClosed(): void {
    this.open = false;
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(bytes: Uint8Array): void {
    if (!this.open || this.channel.bufferedAmount() > MAX_BUFFERED_BYTES) {
      this.dropped++;
      return;
    }
    try {
      this.channel.sendMessageBinary(bytes);
    } catch {
      // The channel closed under us (its onClosed is on its way): the packet is lost, as on UDP.
      this.open = false;
      this.dropped++;
    }
  }

  /**
   * Resolves once queued packets have left libdatachannel (or after `graceMs`), and then
   * {@link SETTLE_MS} later: call before closing the connection so the last packets (a session's
   * close) are not lost.
   */
  async drain(graceMs: number): Promise<void> {
    if (!this.open) return;
    if (this.channel.bufferedAmount() > 0) {
      await new Promise<void>((ok) => {
        const timer = setTimeout(ok, graceMs);
        this.channel.setBufferedAmountLowThreshold(0);
        this.channel.onBufferedAmountLow(() => {
          clearTimeout(timer);
          ok();
        });
      });
    }
    await new Promise((ok) => setTimeout(ok, SETTLE_MS));
  }
}

/** A message from a channel as bytes (bering sends binary only; text is not ours). */
export function messageBytes(msg: string | Buffer | ArrayBuffer): Uint8Array | null {
  if (typeof msg === 'string') return null;
  return msg instanceof ArrayBuffer ? new Uint8Array(msg) : msg;
}
