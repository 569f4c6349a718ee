import type { Millis, UnixMillis } from '../base/time.ts';
import type { Rng } from '../base/rng.ts';
import type { ReedSolomon } from '../fec/index.ts';
import { WireError } from '../wire/errors.ts';
import type { SessionKeys } from '../wire/handshake.ts';
import { RecvKeys, SendKeys } from '../wire/keyUpdate.ts';
import { isFecSource, PacketType, packetType, peekSessionId } from '../wire/packet.ts';
import type { PathId, ReadResult, Receipt, SessionEvent, StreamId, Transmit } from './api.ts';
import { PACER_BURST_MS } from './cc/pacer.ts';
import { CloseCode } from './closeCode.ts';
import { DialerHandshake } from './dialerHandshake.ts';
import { resolveSessionConfig, type SessionConfig } from './config.ts';
import { EventQueue } from './events.ts';
import { FecDecoder } from './fec/decoder.ts';
import { FecEncoder } from './fec/encoder.ts';
import { FecLaneController } from './fec/laneController.ts';
import { FrameHandler, type RxContext } from './frameHandler.ts';
import { HostLateness } from './hostLateness.ts';
import { PacketBuilder } from './packetBuilder.ts';
import type { Path } from './path.ts';
import { PathManager } from './pathManager.ts';
import type { PeerAddress } from './pathValidation.ts';
import { Recovery } from './recovery/recovery.ts';
import { Scheduler } from './scheduler.ts';
import type { SessionStats } from './stats.ts';
import type { StreamPriority } from './stream/stream.ts';
import { Streams } from './stream/streams.ts';
import { Timer, TIMER_COUNT, TimerTable } from './timers.ts';
import type { StreamProbe } from './streamProbe.ts';

type State = 'handshaking' | 'connected' | 'closing' | 'closed';

/**
 * One tunnel session: a sans-IO state machine in the manner of quinn-proto. It never reads a
 * clock or touches a socket: feed it with {@link handleDatagram} and {@link handleTimeout}, then
 * drain {@link pollTransmit} and {@link pollEvent}, and arm one timer for {@link nextTimeout}.
 *
 * Streams are TCP connections: reliable, ordered byte streams multiplexed over the paths with
 * per-stream and session flow control (RFC 9000 §4), ARQ with SACK and packet/time-threshold
 * loss detection (RFC 9002 §6), and per-path paced congestion control.
 */
export class Session {
  readonly config: SessionConfig;
  readonly id: number;
  /** The other side's session id, once the handshake completed. */
  private peerId: number | null = null;
  private state: State;
  // The modules, leaves first: each is built from the ones above it.
  private readonly events = new EventQueue();
  private readonly streams: Streams;
  private readonly recovery: Recovery;
  private readonly paths: PathManager;
  private readonly scheduler = new Scheduler();
  private readonly fecEncoder: FecEncoder | null;
  private readonly fecDecoder: FecDecoder | null;
  private readonly fecLanes: FecLaneController | null;
  private readonly frames: FrameHandler;
  /** Built once the keys are known: no packet of ours goes out before. */
  private builder: PacketBuilder | null = null;
  private readonly timers = new TimerTable(TIMER_COUNT);

  /** Keys of both directions, each updated in place every few minutes (wire/keyUpdate.ts). */
  private sealer: SendKeys | null = null;
  private opener: RecvKeys | null = null;
  /** Dialer, until connected. */
  private handshake: DialerHandshake | null = null;
  /** Listener: when the handshake answer left; the dialer's first packet on a path ends that RTT. */
  private acceptedAt: Millis = NaN;

  private closeFrame: { code: number; reason: string } | null = null;
  private closePathsLeft: PathId[] = [];
  private lastReceivedAt: Millis;
  private lastElicitingSentAt: Millis;
  /** Datagrams FEC restored, waiting to go through the receive path as if they had arrived. */
  private readonly restoredQueue: Uint8Array[] = [];
  private processingRestored = false;
  /** When output was last polled: what {@link nextTimeout} judges spaced-out repairs against. */
  private lastPollAt: Millis = 0;
  private readonly stats_ = { packetsDropped: 0, duplicatePackets: 0 };
  private readonly hostLateness = new HostLateness();

  private constructor(
    config: SessionConfig,
    id: number,
    state: State,
    private readonly isDialer: boolean,
    private readonly rng: Rng,
    now: Millis,
    fec: ReedSolomon | null,
    probe: StreamProbe | null,
  ) {
    this.config = config;
    this.id = id;
    this.state = state;
    this.lastReceivedAt = now;
    this.lastElicitingSentAt = now;
    this.fecEncoder = fec === null || !config.fec ? null : new FecEncoder(fec);
    this.fecDecoder = fec === null ? null : new FecDecoder(fec);
    this.streams = new Streams(config, isDialer, this.events, (code, reason) => this.closeWithError(code, reason), probe);
    this.recovery = new Recovery(this.streams, config.maxAckDelayMs);
    this.paths = new PathManager(config, this.recovery, this.events);
    this.fecLanes = this.fecEncoder === null ? null : new FecLaneController(this.fecEncoder, this.paths, this.streams);
    this.frames = new FrameHandler(this.streams, this.recovery, this.paths, this.fecDecoder, this.fecLanes, this.restoredQueue, {
      violation: (code, reason) => this.closeWithError(code, reason),
      peerClosed: (reason) => this.finishClose(reason, true),
    });
  }

  /**
   * Dialer side: a session that starts its handshake on every given path at once (the first
   * answer wins). Call {@link pollTransmit} right away.
   */
  static dial(opts: {
    now: Millis;
    wallNow: UnixMillis;
    psk: Uint8Array;
    pathIds: PathId[];
    rng: Rng;
    config?: Partial<SessionConfig>;
    /** Reed-Solomon engine for forward error correction (`loadFec()`); none: ARQ only. */
    fec?: ReedSolomon;
    /** Watches stream bytes pass each stage (a delay breakdown); none by default. */
    probe?: StreamProbe;
  }): Session {
    const config = resolveSessionConfig(opts.config);
    const session = new Session(config, opts.rng.nextU32(), 'handshaking', true, opts.rng, opts.now, opts.fec ?? null, opts.probe ?? null);
    for (const pathId of opts.pathIds) session.paths.pathFor(pathId);
    session.handshake = new DialerHandshake(opts.psk, session.id, opts.rng, config, session.paths.ids(), opts.now, opts.wallNow);
    return session;
  }

  /**
   * Listener side: a session for a handshake the {@link Listener} just accepted. It has no path
   * until the dialer's first data packets arrive (the dialer pings every path once connected).
   */
  static accept(opts: {
    now: Millis;
    keys: SessionKeys;
    rng: Rng;
    config: SessionConfig;
    fec?: ReedSolomon;
    /** Where the handshake came from (and the driver's socket): the one address paths need not prove. */
    from?: PeerAddress;
    local?: number;
    probe?: StreamProbe;
  }): Session {
    const session = new Session(opts.config, opts.keys.localSessionId, 'connected', false, opts.rng, opts.now, opts.fec ?? null, opts.probe ?? null);
    if (opts.from !== undefined) session.paths.trustFirstAddress(opts.from, opts.local ?? 0);
    session.installKeys(opts.keys, opts.now);
    session.acceptedAt = opts.now;
    session.emit({ type: 'connected' });
    return session;
  }

  /**
   * One name for the session on both relays: the dialer's id then the listener's, 8 hex digits
   * each (both sides learn both in the handshake). Null while handshaking.
   */
  get tunnelId(): string | null {
    if (this.peerId === null) return null;
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    return this.isDialer ? `${hex(this.id)}${hex(this.peerId)}` : `${hex(this.peerId)}${hex(this.id)}`;
  }

  get isConnected(): boolean {
    return this.state === 'connected';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  // ---------------------------------------------------------------- input

  /**
   * Feeds one received datagram and says what became of it: 'accepted' when it authenticated as
   * this session's and was new, 'duplicate' when authentic but seen before (a late original of
   * a packet FEC restored, or a replay), else 'dropped'. Never throws on bad input: garbage is
   * counted and dropped. A driver whose paths have addresses (the UDP listener) gives the
   * source, `from` and the index of the `local` socket it came in on, and sends the path's
   * packets to {@link pathAddress}; one with connected sockets leaves them out. Borrows `bytes`
   * for the call: it may be decrypted in place (see `PacketOpener.open`), and whatever the
   * session keeps of it (stream data, FEC symbols) is copied before it returns, so a driver may
   * read the next datagram into the same memory.
   */
  handleDatagram(now: Millis, pathId: PathId, bytes: Uint8Array, from?: PeerAddress, local = 0): Receipt {
    this.noteEntry(now);
    const receipt = this.receive(now, pathId, bytes, false, from, local);
    if (receipt === 'accepted' && !this.processingRestored) {
      this.processingRestored = true;
      for (let d = this.restoredQueue.shift(); d !== undefined; d = this.restoredQueue.shift()) {
        this.receive(now, d[1], d, true);
      }
      this.processingRestored = false;
    }
    return receipt;
  }

  /** One datagram, arrived or restored by FEC (then it skips raw-loss accounting and has no source). */
  private receive(now: Millis, pathId: PathId, bytes: Uint8Array, restored: boolean, from?: PeerAddress, local = 0): Receipt {
    if (this.state === 'closed') return 'dropped';
    const type = packetType(bytes);
    if (type === PacketType.HandshakeResponse) return this.handleHandshakeResponse(now, pathId, bytes) ? 'accepted' : 'dropped';
    if (type !== PacketType.Data || this.opener === null || peekSessionId(bytes) !== this.id) {
      this.stats_.packetsDropped++;
      return 'dropped';
    }
    const packet = this.opener.open(bytes, now);
    if (packet === null || packet.pathId !== pathId) {
      this.stats_.packetsDropped++;
      return 'dropped';
    }
    const isNewPath = this.paths.get(pathId) === undefined;
    const path = this.paths.pathFor(pathId);
    // The listener's first sight of a path ends a round trip that began with its handshake answer.
    if (isNewPath && !this.isDialer) path.cc.onRttHint(now - this.acceptedAt);
    if (!this.paths.onAuthentic(now, path, packet.pn, bytes.length, restored, from, local)) {
      this.stats_.duplicatePackets++;
      return 'duplicate';
    }
    this.lastReceivedAt = now;
    // The listener learns paths from the dialer's packets; a path that was down stays down until
    // its challenge is answered (packets arriving prove only one direction).
    if (path.state === 'validating' && !this.isDialer) this.markPathUp(path, now);
    let rx: RxContext;
    try {
      rx = this.frames.handle(now, path, packet.payload, restored);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.closeWithError(CloseCode.ProtocolViolation, `malformed frame: ${err.message}`);
      return 'accepted';
    }
    path.received.onPacket(now, packet.pn, rx.eliciting);
    // Only a packet sealed as an FEC source still holds its sealed bytes: any other was opened in place.
    if (rx.fecGroup >= 0 && this.fecDecoder !== null && !restored && isFecSource(bytes)) {
      this.restoredQueue.push(...this.fecDecoder.onSource(now, rx.fecGroup, rx.fecIndex, bytes));
    }
    return 'accepted';
  }

  /** Call when {@link nextTimeout} passes. Extra calls are harmless. */
  handleTimeout(now: Millis): void {
    if (this.state === 'closed') return;
    this.noteEntry(now);
    this.armTimers();
    const timers = this.timers;
    if (this.state === 'handshaking') {
      if (timers.expired(Timer.HandshakeTimeout, now)) this.finishClose('handshake timed out: no answer from the peer', false);
      return;
    }
    if (timers.expired(Timer.Idle, now)) {
      this.finishClose(`idle timeout: nothing heard for ${Math.round(now - this.lastReceivedAt)} ms`, false);
      return;
    }
    this.paths.handleTimeout(now);
    // These check their own deadlines (the sending key its packet count too) and cost little when
    // nothing is due; the decoder's expiry has no deadline of its own.
    this.fecEncoder?.handleTimeout(now);
    this.fecDecoder?.expire(now);
    this.sealer?.handleTimeout(now);
    this.opener?.handleTimeout(now);
    if (this.state === 'connected' && timers.expired(Timer.KeepAlive, now)) {
      this.paths.pingAll();
      this.lastElicitingSentAt = now;
    }
  }

  /** When to call {@link handleTimeout} (or {@link pollTransmit}, for pacing) next; null: no timer needed. */
  nextTimeout(): Millis | null {
    if (this.state === 'closed') return null;
    this.armTimers();
    const t = Math.min(this.timers.next(), this.paths.nextTimeout());
    this.hostLateness.asked(t);
    return t;
  }

  /** The first call after {@link nextTimeout}: a host that woke us late lets the pacers catch up. */
  private noteEntry(now: Millis): void {
    const late = this.hostLateness.entry(now);
    if (late > PACER_BURST_MS) this.paths.excuseHostLateness(now, late);
  }

  /** Sets every timer slot, the session's and each path's, from the state they derive from. */
  private armTimers(): void {
    const timers = this.timers;
    timers.stopAll();
    if (this.state === 'handshaking') {
      timers.set(Timer.HandshakeRetry, this.handshake!.retryAt);
      timers.set(Timer.HandshakeTimeout, this.handshake!.timeoutAt);
      this.paths.stopTimers();
      return;
    }
    timers.set(Timer.Idle, this.lastReceivedAt + this.config.idleTimeoutMs);
    if (this.state === 'connected') timers.set(Timer.KeepAlive, this.lastElicitingSentAt + this.config.keepAliveMs);
    if (this.fecEncoder !== null) timers.set(Timer.FecGroup, this.fecEncoder.nextTimeout());
    if (this.sealer !== null && this.opener !== null) {
      timers.set(Timer.KeyUpdate, this.sealer.nextUpdateAt);
      timers.set(Timer.KeyDiscard, this.opener.nextTimeout);
    }
    const wantsToSend = this.streams.hasElicitingWork || this.fecEncoder?.hasRepair(this.lastPollAt) === true;
    this.paths.armTimers(wantsToSend, this.lastPollAt);
    // Repairs wait for a path: with none that has window, an ACK or a path coming back wakes us;
    // with one still paced, its release does (a repair due before it would wake us for nothing).
    // A repair already due at the last poll found every free path declined by the scheduler (a
    // slower path kept for a larger backlog): only a later release can take it.
    if (this.fecEncoder !== null) {
      const from = this.paths.sendableAt(this.fecEncoder.hasRepair(this.lastPollAt) ? this.lastPollAt : null);
      if (from < Infinity) timers.set(Timer.Repair, Math.max(this.fecEncoder.nextRepairTime(), from));
    }
  }

  /** The next application event, or null. Drain after every input. */
  pollEvent(): SessionEvent | null {
    return this.events.poll();
  }

  // ---------------------------------------------------------------- streams

  /** Opens a stream to the peer, optionally naming the service it wants. Null when not connected or at the limit. */
  openStream(service = ''): StreamId | null {
    return this.state === 'connected' ? this.streams.open(service) : null;
  }

  /**
   * Queues bytes on a stream and returns how many it took (fewer when buffers are full: wait for
   * 'streamWritable'). The session keeps a reference to `data`: do not modify it afterwards.
   */
  streamWrite(id: StreamId, data: Uint8Array): number {
    return this.state === 'connected' ? this.streams.write(id, data) : 0;
  }

  /** Next received bytes in order, 'fin' once when the peer finished and all was read, or null. */
  streamRead(id: StreamId, maxBytes = Infinity): ReadResult {
    return this.streams.read(id, maxBytes, Math.max(this.lastPollAt, this.lastReceivedAt), this.paths.slowestSmoothedRtt());
  }

  /** Sets what a stream's data prefers; 'auto' (the default) detects live traffic by its backlog. */
  setStreamPriority(id: StreamId, priority: StreamPriority): void {
    this.streams.setPriority(id, priority);
  }

  /** Half-closes our direction: the peer reads 'fin' after the last byte written. */
  streamFinish(id: StreamId): void {
    this.streams.finish(id);
  }

  /** Aborts both directions; the peer gets 'streamReset'. Buffered data is discarded. */
  streamReset(id: StreamId, code: number): void {
    this.streams.reset(id, code);
  }

  /** Closes the session: the peer gets 'closed'; every stream is reset. */
  close(now: Millis, reason: string): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (this.state === 'handshaking') {
      this.finishClose(reason, false);
      return;
    }
    this.closeFrame = { code: CloseCode.Normal, reason };
    this.state = 'closing';
    this.closePathsLeft = this.paths.upIds();
    if (this.closePathsLeft.length === 0) this.finishClose(reason, false);
    this.lastElicitingSentAt = now;
  }

  stats(): SessionStats {
    const c = this.streams.counters;
    return {
      streamsOpened: c.streamsOpened,
      streamsReset: c.streamsReset,
      bytesWritten: c.bytesWritten,
      bytesRead: c.bytesRead,
      packetsDropped: this.stats_.packetsDropped,
      duplicatePackets: this.stats_.duplicatePackets,
      retransmittedBytes: c.retransmittedBytes,
      activeStreams: this.streams.activeCount,
      fecRestoredPackets: this.fecDecoder?.restoredPackets ?? 0,
      fecFailedGroups: this.fecDecoder?.failedGroups ?? 0,
      fec: { bulk: this.fecLanes?.shape('bulk') ?? null, latency: this.fecLanes?.shape('latency') ?? null },
      keyUpdates: { sent: this.sealer?.updates ?? 0, received: this.opener?.updates ?? 0 },
      paths: this.paths.stats(),
    };
  }

  // ---------------------------------------------------------------- output

  /**
   * The next datagram to send now, already paced, or null (then wait for {@link nextTimeout}).
   * Call until null after every input. The returned bytes belong to the caller.
   */
  pollTransmit(now: Millis): Transmit | null {
    this.noteEntry(now);
    switch (this.state) {
      case 'closed':
        return null;
      case 'handshaking':
        return this.handshake!.poll(now);
      case 'closing':
        return this.pollClose(now);
      case 'connected':
        return this.pollData(now);
    }
  }

  private pollClose(now: Millis): Transmit | null {
    const pathId = this.closePathsLeft.shift();
    if (pathId === undefined || this.closeFrame === null) return null;
    const t = this.builder!.close(now, this.paths.get(pathId)!, this.closeFrame.code, this.closeFrame.reason);
    if (this.closePathsLeft.length === 0) this.finishClose(this.closeFrame.reason, false);
    return t;
  }

  private pollData(now: Millis): Transmit | null {
    const builder = this.builder!;
    this.lastPollAt = now;
    // ACKs first: they are owed on a deadline and are never held back by pacing. A path's ACKs
    // travel on that path (its RTT samples stay its own) unless it is down.
    for (const path of this.paths.all) {
      if (path !== undefined && (path.received.ackDeadline <= now || path.lossReportDueAt <= now)) {
        const carrier = path.acksElsewhere ? this.paths.fastestUp() : path;
        if (carrier !== null) return builder.ack(now, carrier);
        path.received.onAckSent();
        path.lossReportDueAt = Infinity;
      }
    }
    for (const path of this.paths.all) {
      if (path === undefined) continue;
      if (path.migration.probing) {
        if (path.migration.canChallenge(now)) return builder.migrationProbe(now, path);
        continue;
      }
      if (path.responsePending !== null || path.challengeDueAt <= now) return builder.pathProbe(now, path);
      if (path.silencePingDue && path.isUp) return this.elicited(now, builder.ping(now, path));
      if (path.probesPending > 0 && path.isUp && path.pacer.canSend(now)) return this.elicited(now, builder.data(now, path, true));
    }
    if (this.fecEncoder?.hasRepair(now)) {
      const path = this.scheduler.pick(now, this.paths.all, this.backlog);
      return path === null ? null : this.elicited(now, builder.repair(now, path, this.fecEncoder));
    }
    if (!this.streams.hasElicitingWork) return null;
    const fastest = this.scheduler.earliest(now, this.paths.all);
    if (fastest === null) return null;
    // Retransmissions go on the path where they arrive first; a slower path that is free now
    // carries new data, when the backlog makes it worth it.
    if (fastest.pacer.canSend(now)) return this.elicited(now, builder.data(now, fastest, true));
    const slower = this.streams.hasNewWork ? this.scheduler.fallback(now, this.paths.all, fastest, this.backlog) : null;
    return slower === null ? null : this.elicited(now, builder.data(now, slower, false));
  }

  /** `t` is ack-eliciting: the keep-alive starts over. */
  private elicited(now: Millis, t: Transmit): Transmit {
    this.lastElicitingSentAt = now;
    return t;
  }

  /**
   * Where `pathId`'s packets go now, as the driver reported it to {@link handleDatagram} (and
   * which of its sockets, {@link pathLocal}); null before its first authentic packet. Call for
   * each transmit: it changes only when the path moves or probes a new address.
   */
  pathAddress(pathId: PathId): PeerAddress | null {
    return this.paths.get(pathId)?.migration.target ?? null;
  }

  /** The driver's socket index for {@link pathAddress}. */
  pathLocal(pathId: PathId): number {
    return this.paths.get(pathId)?.migration.targetLocal ?? 0;
  }

  /** Bytes waiting to be sent (repairs, lost and new data), counted only up to `atLeast`. */
  private readonly backlog = (atLeast: number): number =>
    this.streams.backlogBytes((this.fecEncoder?.repairPacketsQueued ?? 0) * this.config.mtu, atLeast);

  // ---------------------------------------------------------------- internals

  private handleHandshakeResponse(now: Millis, pathId: PathId, bytes: Uint8Array): boolean {
    if (this.state !== 'handshaking') return false;
    const accepted = this.handshake!.accept(now, bytes);
    if (accepted !== null) {
      const { keys, rtt } = accepted;
      this.installKeys(keys, now);
      this.state = 'connected';
      this.handshake = null;
      this.lastReceivedAt = now;
      this.emit({ type: 'connected' });
      // The answering path is proven; the others prove themselves with PATH_CHALLENGE, which
      // also tells the listener every path's address at once.
      const answered = this.paths.pathFor(pathId);
      answered.cc.onRttHint(rtt);
      this.markPathUp(answered, now);
      answered.owePing();
      for (const path of this.paths.all) if (path !== undefined && path !== answered) path.challengeDueAt = now;
      return true;
    }
    this.stats_.packetsDropped++;
    return false;
  }

  private installKeys(keys: SessionKeys, now: Millis): void {
    this.peerId = keys.remoteSessionId;
    this.sealer = new SendKeys(keys.sendKey, keys.remoteSessionId, now, this.config.keyUpdateIntervalMs);
    this.opener = new RecvKeys(keys.recvKey);
    this.builder = new PacketBuilder(this.config, this.sealer, this.paths, this.streams, this.recovery, this.fecEncoder, this.fecLanes, this.rng);
  }

  private markPathUp(path: Path, now: Millis): void {
    if (this.paths.markUp(path, now)) this.fecLanes?.update(now);
  }

  private closeWithError(code: number, reason: string): void {
    if (this.state !== 'connected') return;
    this.closeFrame = { code, reason };
    this.state = 'closing';
    this.closePathsLeft = this.paths.upIds();
  }

  private finishClose(reason: string, byPeer: boolean): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.streams.clear();
    this.emit({ type: 'closed', reason, byPeer });
  }

  private emit(ev: SessionEvent): void {
    this.events.push(ev);
  }
}
