import type { Millis } from '../../base/time.ts';
import { WindowedMax } from './windowedMax.ts';
import type { AckEvent, CongestionController } from './congestionController.ts';

export interface BbrConfig {
  /** Datagram size used for minimum windows and burst quanta. */
  mss: number;
  initialCwndPackets: number;
  /** Bytes/ms the first round's window is sized for once the RTT is known (never below the above). */
  initialRate: number;
  /** RTT assumed before the first sample. */
  initialRtt: Millis;
  /** Optional ceiling (bytes/ms), e.g. a VPS plan's bandwidth. */
  maxRate: number;
}

const STARTUP_GAIN = 2.885;
/** Start-up's gain once the RTT says a queue may be forming (HyStart++'s conservative phase). */
const CAREFUL_GAIN = 1.25;
/**
 * Start-up paces 2.9x what the path delivered, and learns that the path is full a round trip
 * later: on a 180 ms path with a 60 ms queue, that round overflows the queue by 4 MB. A download
 * starting beside a 60 Mbit/s stream on such a 100 Mbit/s path lost 2,662 packets at once, and
 * the stream's chunks came 440 ms late (p99 373 ms). Beside live traffic start-up grows at the
 * careful gain instead, whose overshoot a queue a third of the RTT absorbs, and drains on the
 * first sign of a queue: the same start lost nothing, p99 136 ms, and the download took the same
 * 29.5 Mbit/s. The price: a download beside a stream on a 1 Gbit/s path averaged 482 Mbit/s over
 * its first 6 s instead of 609.
 */
const LIVE_STARTUP_GAIN = CAREFUL_GAIN;
/** Bandwidth growth over a careful round that proves the path was not full after all. */
const CAREFUL_GROWTH = 1.1;
const PROBE_BW_GAINS = [1.25, 0.75, 1, 1, 1, 1, 1, 1];
const BTLBW_FILTER_ROUNDS = 10;
/**
 * A slot of the bandwidth and aggregation filters spans a round, but at least this long: on a
 * 1 ms path ten rounds are 10 ms, and one stall of either host's event loop (a busy neighbour,
 * a JIT pause) then empties the filter of every good sample: real relays on a clean loopback link
 * paced a 60 Mbit/s stream at 28-80 Mbit/s for a second after such stalls. Ten slots of 50 ms
 * keep half a second of history, still less than ten rounds of any long-haul path.
 */
const FILTER_SLOT_MIN_MS = 50;
/** Paths at least this long get a first round sized for the initial rate (see onRttHint). */
const LONG_PATH_RTT_MS = 80;
const MIN_RTT_WINDOW_MS = 10_000;
const FULL_BW_GROWTH = 1.25;
const FULL_BW_ROUNDS = 3;
/**
 * Rounds in a row that start-up may run app-limited without the estimate growing 25% before it
 * settles into probe_bw. An application that never fills the pipe (a live stream) otherwise keeps
 * start-up's 2.9x gain and window for good, and the first download to join it blasts that into the
 * bottleneck: 2,231 packets lost at once on a 100 Mbit/s, 60 ms-queue path, and a 60 Mbit/s stream
 * sharing the session saw 551 ms. From probe_bw a download probes up 25% a cycle instead. Three
 * rounds, not six: a download joining a 60 Mbit/s stream 1 s into the session still met start-up
 * after six (2,600 packets lost, chunks 560 ms late); after three it meets probe_bw (none lost).
 */
const STARTUP_APP_LIMITED_ROUNDS = 3;
/**
 * An app-limited round has a say in ending start-up (any of its ways out) only if it carried at
 * least this many packets: a session idle but for its keep-alives ends a round a second, and three
 * of them ended start-up on a 0.06 Mbit/s estimate, from which the first viewer's 64 KiB took 18 s
 * on real relays; the side that only receives a download sends a flow-control update now and then,
 * whose RTT the download's queue lifts, and careful start-up drained on those to 0.01 Mbit/s (the
 * next upload crawled). A live stream's rounds carry far more (60 Mbit/s over 180 ms: ~1,000).
 */
const APP_LIMITED_ROUND_MIN_PACKETS = 64;
/** Consecutive RTT samples above the startup queue threshold that end startup. */
const STARTUP_HIGH_RTT_SAMPLES = 8;
/**
 * What a probe for more bandwidth may keep in flight while the path carries a live stream beside
 * a download, as a multiple of the larger of the BDP and what was in flight when it began. A
 * probe's queue shows in the RTT only a round after it was built, so on a long path the whole
 * probe runs blind: at 1.25x for a round it put 1.31 BDPs in flight on a full 100 Mbit/s, 180 ms
 * path, overflowed its 60 ms queue, and the stream waited a retransmission (worst chunk 348 ms,
 * 150 without the probe). 10% more still shows more room as more delivery. The in-flight term
 * keeps a fresh estimate, still low, from starving the stream: capped at 1.1 BDPs alone, real
 * relays' first probes held a 60 Mbit/s stream's chunks for 700-800 ms.
 */
const PROBE_BESIDE_LIVE_INFLIGHT = 1.1;
/** Bandwidth estimate kept after a cruising round with a standing queue. */
const STANDING_QUEUE_BACKOFF = 0.98;
/** Loss compensation kept after such a round. */
const STANDING_QUEUE_LOSS_DECAY = 0.7;
/** Cap on the loss compensation: beyond this the path is broken, not lossy. */
const MAX_RANDOM_LOSS = 0.3;
/** EWMA weight of one round's loss fraction. */
const LOSS_EWMA_GAIN = 1 / 8;
/**
 * The standing-queue test looks at the lowest RTT of cruising rounds over at least this long: on a
 * short path rounds last a millisecond and hold a handful of ACKs, and one busy turn of either
 * host's event loop inflates all of them.
 */
const QUEUE_EPOCH_MS = 25;
/**
 * Back-offs in a row after which a delay that has not shrunk is taken to be the hosts', not a
 * queue of ours: pacing a few percent below the bottleneck drains a queue we built within this
 * many epochs, and a delay that does not move is something our rate cannot fix.
 */
const FRUITLESS_BACKOFFS = 8;
/** Rounds over which the largest ACK aggregation is remembered (BBRv2's extra_acked window). */
const EXTRA_ACKED_ROUNDS = 10;
/** The aggregation allowance never exceeds this much time at the bottleneck rate. */
const EXTRA_ACKED_MAX_MS = 100;

type Mode = 'startup' | 'drain' | 'probe_bw';

/**
 * A BBR-like model-based controller (after BBRv1, Cardwell et al. 2016) tuned for lossy
 * long-haul paths: the bottleneck bandwidth is a windowed max of delivery-rate samples, min RTT
 * a windowed min; pacing and cwnd follow the model, never a loss event. Queueing delay, not
 * loss, is the congestion signal: startup ends when the RTT rises, and the random loss rate is
 * learned only from rounds whose queue was near empty, then compensated for so that the path is
 * filled to its capacity rather than to capacity * (1 - loss).
 */
export class BbrController implements CongestionController {
  private mode: Mode = 'startup';
  private readonly bwFilter = new WindowedMax(BTLBW_FILTER_ROUNDS);
  private btlBw = 0;
  private minRtt: Millis = Infinity;
  private minRttStamp: Millis = 0;
  private round = 0;
  /** Slot counter of the bandwidth and aggregation filters: rounds of at least FILTER_SLOT_MIN_MS. */
  private filterRound = 0;
  private filterRoundStart: Millis = 0;
  private nextRoundDelivered = 0;
  private roundMinRtt: Millis = Infinity;
  private lastRoundMinRtt: Millis = Infinity;
  private epochStart: Millis = 0;
  /** Lowest RTT of this epoch's rounds that paced at gain 1 or below (Infinity: none yet). */
  private epochCruiseMinRtt: Millis = Infinity;
  private backoffs = 0;
  private backoffStartRtt: Millis = Infinity;
  /**
   * Delay under load that backing off did not remove (busy hosts, a path whose RTT rose): the
   * queue tests count from here instead of from the idle min RTT. 0 when there is none.
   */
  private delayFloor: Millis = 0;
  private roundLost = 0;
  private roundAcked = 0;
  private fullBw = 0;
  private fullBwRounds = 0;
  private appLimitedRounds = 0;
  private cycleIndex = 0;
  private cycleStamp: Millis = 0;
  private lossRate = 0;
  private highRttSamples = 0;
  /** Bytes in flight when the current probe for more bandwidth began. */
  private probeStartInflight = 0;
  /** Round in which start-up turned careful, or -1. */
  private carefulRound = -1;
  private carefulBw = 0;
  /** Some ACK of this round measured the path, not the application's pace. */
  private roundHadFullSample = false;
  /** The first round's pacing rate: what start-up assumes of a path it has not measured. */
  private startupFloorRate: number;
  /** Some ACK since the start (or the last reset) measured the path, not the application's pace. */
  private measured = false;
  /** A download shared a long path with live data in this start-up: it grows gently. */
  private gentle = false;
  private drainGain = 1 / STARTUP_GAIN;
  /** Some ACK of this round came while pacing below the bottleneck (a queue was draining). */
  private roundDrained = false;
  private pacingGain = STARTUP_GAIN;
  private cwndGain = STARTUP_GAIN;
  /** Start of the current ACK aggregation epoch, and the bytes acknowledged since. */
  private ackEpochStart: Millis = -Infinity;
  private ackEpochAcked = 0;
  private readonly extraAckedFilter = new WindowedMax(EXTRA_ACKED_ROUNDS);
  /** Windowed max of bytes acknowledged beyond what the bottleneck rate explains. */
  private extraAcked = 0;
  /** Bytes the path's reordering holds back (see arrivalSpread). */
  private reorderHeld = 0;

  pacingRate: number;
  cwnd: number;
  /** Start-up's window floor: an app-limited trickle must not shrink it below where it began. */
  private startupCwnd: number;
  /** What the path carried before a {@link reset}: the first round after it is no larger. */
  private knownBdp = Infinity;

  constructor(private readonly config: BbrConfig) {
    this.startupCwnd = config.initialCwndPackets * config.mss;
    this.cwnd = this.startupCwnd;
    this.pacingRate = Math.min(config.maxRate, (STARTUP_GAIN * this.cwnd) / config.initialRtt);
    this.startupFloorRate = this.pacingRate;
  }

  get state(): string {
    return this.mode;
  }

  /**
   * Since when the controller has not been overfilling the bottleneck on purpose (start-up at full
   * speed, or the drain after it); Infinity while it is. App-limited start-up counts as steady:
   * an application slower than the path overfills nothing.
   */
  steadySince: Millis = Infinity;

  get randomLossRate(): number {
    return this.lossRate;
  }

  get delayFloorMs(): Millis {
    return this.delayFloor;
  }

  get pathMeasured(): boolean {
    return this.measured;
  }

  /** Bottleneck bandwidth estimate in bytes/ms (delivered, i.e. after loss). */
  get bottleneckBandwidth(): number {
    return this.btlBw;
  }

  onPacketSent(): void {}

  onAck(ev: AckEvent): void {
    const { now, sample } = ev;
    // Only on a long path is a round of overshoot a flood: a short one's start-up is over in
    // milliseconds, and there a jittery RTT (10 ms on 7) read as a queue drained a stream and a
    // download beside it to 80% of the path. Once gentle, start-up stays so: slowed down, the
    // stream may take every packet for a while, and back at 2.9x the download flooded the path.
    if (ev.liveBesideBulk && this.mode === 'startup' && this.minRtt >= LONG_PATH_RTT_MS) this.gentle = true;
    if (!Number.isNaN(ev.rtt)) {
      if (!Number.isFinite(this.minRtt)) this.onRttHint(ev.rtt);
      if (ev.rtt < this.roundMinRtt) this.roundMinRtt = ev.rtt;
      if (ev.rtt <= this.minRtt) {
        this.minRtt = ev.rtt;
        this.minRttStamp = now;
      }
    }
    if (this.mode === 'startup') this.checkStartupQueue(ev.rtt, sample.isFirstFlight);
    this.roundAcked += sample.ackedBytes;
    this.roundLost += ev.lostBytes;

    const roundEnded = sample.ackedBytes > 0 && sample.priorDelivered >= this.nextRoundDelivered;
    if (roundEnded) {
      this.nextRoundDelivered = ev.delivered;
      this.round++;
      if (now - this.filterRoundStart >= FILTER_SLOT_MIN_MS) {
        this.filterRound++;
        this.filterRoundStart = now;
      }
    }
    if (sample.ackedBytes > 0 && !sample.isAppLimited) {
      this.roundHadFullSample = true;
      this.measured = true;
    }
    // App-limited samples show the application's pace, not the path's: they may only raise the
    // estimate. Rejected samples do not age the filter, so an idle path keeps its estimate.
    if (sample.deliveryRate > 0 && (!sample.isAppLimited || sample.deliveryRate >= this.btlBw)) {
      this.recordBandwidth(sample.deliveryRate);
    }
    if (sample.ackedBytes > 0 && this.pacingGain < 1) this.roundDrained = true;
    if (roundEnded) this.onRoundEnd(now);
    if (sample.ackedBytes > 0) this.updateAckAggregation(now, sample.ackedBytes);
    this.reorderHeld = ev.reorderPackets * this.config.mss;

    this.updateMode(now, ev.bytesInFlight);
    this.updateControls(ev.liveBesideBulk);
    const overfilling = this.mode === 'drain' || (this.mode === 'startup' && sample.ackedBytes > 0 && !sample.isAppLimited);
    if (overfilling) this.steadySince = Infinity;
    else if (this.steadySince === Infinity) this.steadySince = now;
  }

  /**
   * Starts over in start-up, as after a long blackout. The first round's window is the smaller
   * of the initial window and what the path carried before: conditions may have changed, but a
   * 20 Mbit/s path that blinked is not suddenly worth a 1.4 MB first flight.
   */
  reset(): void {
    this.knownBdp = this.btlBw > 0 && Number.isFinite(this.minRtt) ? this.bdp() : Infinity;
    this.startupCwnd = Math.max(4 * this.config.mss, Math.min(this.config.initialCwndPackets * this.config.mss, this.knownBdp));
    this.mode = 'startup';
    this.bwFilter.reset();
    this.btlBw = 0;
    this.minRtt = Infinity;
    this.extraAcked = 0;
    this.extraAckedFilter.reset();
    this.reorderHeld = 0;
    this.delayFloor = 0;
    this.backoffs = 0;
    this.epochCruiseMinRtt = Infinity;
    this.ackEpochStart = -Infinity;
    this.ackEpochAcked = 0;
    this.fullBw = 0;
    this.fullBwRounds = 0;
    this.appLimitedRounds = 0;
    this.steadySince = Infinity;
    this.highRttSamples = 0;
    this.carefulRound = -1;
    this.gentle = false;
    this.pacingGain = STARTUP_GAIN;
    this.cwndGain = STARTUP_GAIN;
    this.cwnd = this.startupCwnd;
    this.pacingRate = Math.min(this.config.maxRate, (STARTUP_GAIN * this.cwnd) / this.config.initialRtt);
    this.startupFloorRate = this.pacingRate;
    this.measured = false;
  }

  /**
   * An RTT measured before any ACK (the handshake's) or the first ACK's: sizes start-up's first
   * round for the initial rate (see {@link BbrConfig}). Ignored once the path has been measured.
   */
  onRttHint(rtt: Millis): void {
    if (this.mode !== 'startup' || this.btlBw > 0 || !(rtt > 0)) return;
    const { initialRate, maxRate } = this.config;
    // On a short path rounds are quick: start-up catches up with a live stream within tens of
    // milliseconds, and a first round sized for the rate would only flood a slower path.
    if (rtt < LONG_PATH_RTT_MS) return;
    const window = Math.min(this.knownBdp, initialRate * rtt);
    if (window <= this.startupCwnd) return;
    this.startupCwnd = window;
    this.cwnd = Math.max(this.cwnd, window);
    // Spread over one round trip, not start-up's 2.9x: a first round this large must not arrive
    // as a burst on a path that turns out to be slower.
    this.pacingRate = Math.min(maxRate, Math.max(this.pacingRate, window / rtt));
    this.startupFloorRate = this.pacingRate;
  }

  private recordBandwidth(rate: number): void {
    this.btlBw = this.bwFilter.update(this.filterRound, rate);
  }

  private onRoundEnd(now: Millis): void {
    // An old min RTT is replaced only by a round that drained the queue or never filled it: a
    // sample taken on top of a standing queue would hide that queue from every test below, and
    // the next probe would overflow it (measured: a 20 ms queue taken for the path's RTT, then
    // 265 packets dropped by the probe after it).
    if (now - this.minRttStamp > MIN_RTT_WINDOW_MS && (this.roundDrained || !this.roundHadFullSample) && Number.isFinite(this.roundMinRtt)) {
      this.minRtt = this.roundMinRtt;
      this.minRttStamp = now;
    }
    // Startup's own overshoot fills the queue and drops: only cruising rounds teach random loss.
    const queueFree = this.mode === 'probe_bw' && this.roundMinRtt <= this.queueBaseline() + Math.max(3, this.minRtt / 10);
    const total = this.roundAcked + this.roundLost;
    if (queueFree && total > 0) {
      const fraction = this.roundLost / total;
      this.lossRate = Math.min(MAX_RANDOM_LOSS, this.lossRate + LOSS_EWMA_GAIN * (fraction - this.lossRate));
    }
    if (this.pacingGain <= 1 && this.roundMinRtt < this.epochCruiseMinRtt) this.epochCruiseMinRtt = this.roundMinRtt;
    if (now - this.epochStart >= Math.max(QUEUE_EPOCH_MS, this.minRtt)) this.onQueueEpochEnd(now);
    const telling = this.roundHadFullSample || this.roundAcked >= APP_LIMITED_ROUND_MIN_PACKETS * this.config.mss;
    if (this.mode === 'startup' && !telling) {
      // Nothing measured this round: start-up's clocks do not move.
      if (this.carefulRound >= 0) this.carefulRound = this.round;
    } else if (this.mode === 'startup' && this.carefulRound >= 0 && this.round > this.carefulRound + 1) {
      // A whole round at the careful gain: still growing means the RTT rise was jitter, not a
      // queue (at a gain of 1.25 a free path grows by up to 25% a round, a full one not at all).
      if (this.btlBw >= this.carefulBw * CAREFUL_GROWTH) {
        this.carefulRound = -1;
        this.highRttSamples = 0;
      } else {
        this.enterDrain(STARTUP_GAIN);
      }
    }
    if (this.mode === 'startup' && telling) {
      const grew = this.btlBw >= this.fullBw * FULL_BW_GROWTH;
      if (grew) this.fullBw = this.btlBw;
      if (this.roundHadFullSample) {
        this.fullBwRounds = grew ? 0 : this.fullBwRounds + 1;
        this.appLimitedRounds = 0;
      } else {
        this.appLimitedRounds = grew ? 0 : this.appLimitedRounds + 1;
      }
      if (this.fullBwRounds >= FULL_BW_ROUNDS) this.enterDrain(STARTUP_GAIN);
      else if (this.appLimitedRounds >= STARTUP_APP_LIMITED_ROUNDS) this.enterProbeBw(now);
    }
    this.lastRoundMinRtt = this.roundMinRtt;
    this.roundMinRtt = Infinity;
    this.roundHadFullSample = false;
    this.roundDrained = false;
    this.roundLost = 0;
    this.roundAcked = 0;
  }

  /**
   * ACKs arrive in clumps: a receiver that handles a burst of datagrams in one event-loop turn
   * and a sender woken by a 1 ms timer both bunch them, as do Wi-Fi and ACK decimation. Between
   * clumps the sender sits at its window with the pipe half idle: on loopback, with a 0.8 ms min
   * RTT and 3 ms between clumps, bering ran at a third of the host's ceiling, cwnd-limited with
   * both relays half idle. As BBRv2 does (extra_acked), the window gets the largest recent excess
   * of acknowledged bytes over what the bottleneck rate explains. Pacing still sets the rate.
   */
  private updateAckAggregation(now: Millis, ackedBytes: number): void {
    if (this.btlBw <= 0) return;
    const expected = this.btlBw * (now - this.ackEpochStart);
    if (this.ackEpochAcked <= expected) {
      this.ackEpochStart = now;
      this.ackEpochAcked = 0;
    }
    this.ackEpochAcked += ackedBytes;
    const extra = Math.min(this.ackEpochAcked - this.btlBw * (now - this.ackEpochStart), this.btlBw * EXTRA_ACKED_MAX_MS);
    this.extraAcked = this.extraAckedFilter.update(this.filterRound, extra);
  }

  /**
   * Room in the window for ACKs that come late or in clumps: the larger of the recent ACK
   * aggregation and the packets the path's reordering holds back (a packet overtaken by n others
   * kept n more in flight), within the bottleneck rate's worth of EXTRA_ACKED_MAX_MS. A path
   * whose jitter reorders far beyond its min RTT keeps packets in flight that long: random path
   * 332 of the soak (1 ms RTT, 17 ms of jitter, 9% loss) held a window of two min-RTT BDPs,
   * delivery capped by the window read as less bandwidth, which shrank the window again, and a
   * 60 Mbit/s stream spiralled to 20. Reordering alone widens it: a queue never reorders, so this
   * cannot feed on our own queueing as a window grown by RTT variation would.
   */
  private arrivalSpread(): number {
    return Math.max(this.extraAcked, this.reorderRoom());
  }

  /** What the path's reordering holds in flight, bounded: the count behind it is the peer's word. */
  private reorderRoom(): number {
    return Math.min(this.reorderHeld, this.btlBw * EXTRA_ACKED_MAX_MS);
  }

  /** The RTT a queue-free path shows under load: the min RTT, or the hosts' delay floor above it. */
  private queueBaseline(): Millis {
    return Math.max(this.minRtt, this.delayFloor);
  }

  /**
   * A delay that stands through a whole epoch of cruising rounds is a queue: back off until it
   * drains. Unless backing off does not drain it: then the delay is not ours (a host's busy event
   * loop, a neighbour on a shared vCPU), and backing off further would only collapse the rate. It
   * did: a 60 Mbit/s stream whose hosts added 3 ms to every RTT of a 2 ms path was paced down to
   * 5 Mbit/s in the simulator, 2% a round, and never probed again (issue 17's collapse).
   */
  private onQueueEpochEnd(now: Millis): void {
    const cruiseMin = this.epochCruiseMinRtt;
    this.epochStart = now;
    this.epochCruiseMinRtt = Infinity;
    if (!Number.isFinite(cruiseMin) || !Number.isFinite(this.minRtt)) return;
    const threshold = Math.max(3, this.minRtt / 20);
    if (cruiseMin <= this.minRtt + threshold) this.delayFloor = 0;
    else if (this.delayFloor > 0 && cruiseMin < this.delayFloor) this.delayFloor = cruiseMin;
    if (this.mode !== 'probe_bw' || cruiseMin <= this.queueBaseline() + threshold) {
      this.backoffs = 0;
      return;
    }
    const draining = cruiseMin < this.backoffStartRtt - Math.max(1, (this.backoffStartRtt - this.queueBaseline()) / 4);
    if (this.backoffs === 0 || draining) {
      this.backoffStartRtt = cruiseMin;
      this.backoffs = 0;
    }
    if (this.backoffs >= FRUITLESS_BACKOFFS) {
      this.delayFloor = cruiseMin;
      this.backoffs = 0;
      return;
    }
    this.backoffs++;
    this.shrinkBandwidth(STANDING_QUEUE_BACKOFF);
  }

  /**
   * A queue that stands through a whole cruising round means the model overestimates the
   * bottleneck (a max filter is biased high by noisy samples, or the loss compensation is stale):
   * trim both until it drains.
   */
  private shrinkBandwidth(factor: number): void {
    // The loss compensation may be what overshoots (losses FEC now repairs no longer need it).
    this.lossRate *= STANDING_QUEUE_LOSS_DECAY;
    this.btlBw *= factor;
    this.bwFilter.clamp(this.btlBw);
  }

  /**
   * Startup overshoots by up to its gain for one round trip, and a 60 ms queue on a 180 ms path
   * absorbs a third of that: so on the first sustained sign of a queue, per ACK, startup slows to
   * a careful gain for a round (HyStart++, RFC 9406): if the bandwidth still grows the delay was
   * jitter and full speed resumes, otherwise the pipe is full.
   */
  private checkStartupQueue(rtt: Millis, firstFlight: boolean): void {
    if (this.carefulRound >= 0 || Number.isNaN(rtt) || !Number.isFinite(this.minRtt) || this.btlBw === 0) return;
    // Gentle start-up overfills by a quarter a round, and hears of it a round late: its queue
    // must be caught young (on a 180 ms path with a 60 ms queue, at 11 ms it overflowed).
    const rise = Math.max(4, this.minRtt / (this.gentle ? 32 : 16));
    if (rtt > this.minRtt + rise) this.highRttSamples++;
    else this.highRttSamples = 0;
    if (this.highRttSamples < STARTUP_HIGH_RTT_SAMPLES) return;
    // Not on the first flight's word: its bandwidth samples are what of it has come back so far
    // (13-22 of 100 Mbit/s on real relays, whose cold first flight read 30 ms over the path's
    // RTT). Drained there, or held careful at 1.25x of such a sample, a 60 Mbit/s stream was paced
    // at 17 Mbit/s and queued 150 ms in the sender in its first second. Any flight from an idle
    // path, not only the session's first: after a 64 KiB reply had ended the session's, a stream
    // opened on it was held careful at 1.25x of its first flight (31 of the 80 Mbit/s it needed
    // with its repairs) and queued 135 ms in the sender (real relays, bench clean).
    if (firstFlight) {
      this.highRttSamples = 0;
      return;
    }
    // Growing gently already, a queue means the path is full: a careful round would only fill it.
    if (this.gentle) {
      this.enterDrain(LIVE_STARTUP_GAIN);
      return;
    }
    this.carefulRound = this.round;
    this.carefulBw = this.btlBw;
  }

  private updateMode(now: Millis, bytesInFlight: number): void {
    if (this.mode === 'drain' && bytesInFlight <= this.pipeFull()) this.enterProbeBw(now);
    if (this.mode === 'probe_bw') {
      const phaseLength = Number.isFinite(this.minRtt) ? this.minRtt : this.config.initialRtt;
      let advance = now - this.cycleStamp > phaseLength;
      // Leave the draining phase as soon as the queue is gone: an application sending near the
      // path's rate (live video plus its FEC) would otherwise queue behind a needless drain.
      if (this.pacingGain < 1 && bytesInFlight <= this.pipeFull()) advance = true;
      if (advance) {
        this.cycleIndex = (this.cycleIndex + 1) % PROBE_BW_GAINS.length;
        // Probe for more only from an empty queue: probing on top of a standing queue overflows
        // a shallow buffer and drops a burst that FEC cannot repair. Drain first instead.
        if (PROBE_BW_GAINS[this.cycleIndex] > 1 && this.lastRoundMinRtt > this.queueBaseline() + Math.max(2, this.minRtt / 40)) {
          this.cycleIndex++;
        }
        this.cycleStamp = now;
        if (PROBE_BW_GAINS[this.cycleIndex] > 1) this.probeStartInflight = bytesInFlight;
      }
    }
  }

  /**
   * Drains what start-up overfilled at the gain it overfilled by: a gentle start-up's queue at
   * 0.8x, since 0.35x would starve the live stream it was gentle for.
   */
  private enterDrain(startupGain: number): void {
    this.mode = 'drain';
    this.drainGain = 1 / startupGain;
  }

  /** Cruising from here: the next probe for more bandwidth comes after a few phases. */
  private enterProbeBw(now: Millis): void {
    this.mode = 'probe_bw';
    this.cycleIndex = 2;
    this.cycleStamp = now;
  }

  /**
   * What the path holds in flight with no queue: the BDP, plus what its reordering holds back.
   * Drained to the BDP alone, a path whose jitter keeps packets in flight far beyond its min RTT
   * never drains: random path 257 of the soak (2 ms, 20 ms of reordering jitter) sat in drain for
   * 2.8 s at a third of the estimate, which fell with every round paced under it, 94 to 6 Mbit/s.
   */
  private pipeFull(): number {
    return this.bdp() + this.reorderRoom();
  }

  /** Estimated bandwidth-delay product at the bottleneck, before loss, in bytes. */
  private bdp(): number {
    if (this.btlBw === 0 || !Number.isFinite(this.minRtt)) return this.config.initialCwndPackets * this.config.mss;
    return (this.btlBw / (1 - this.lossRate)) * this.minRtt;
  }

  private updateControls(liveBesideBulk: boolean): void {
    switch (this.mode) {
      case 'startup':
        this.pacingGain = this.carefulRound >= 0 ? CAREFUL_GAIN : this.gentle ? LIVE_STARTUP_GAIN : STARTUP_GAIN;
        this.cwndGain = this.carefulRound >= 0 || this.gentle ? 2 : STARTUP_GAIN;
        break;
      case 'drain':
        this.pacingGain = this.drainGain;
        this.cwndGain = STARTUP_GAIN;
        break;
      case 'probe_bw':
        this.pacingGain = PROBE_BW_GAINS[this.cycleIndex];
        this.cwndGain = 2;
        break;
    }
    const mss = this.config.mss;
    if (this.btlBw > 0) {
      let rate = (this.pacingGain * this.btlBw) / (1 - this.lossRate);
      // Never slow down in startup on a low early sample: the initial rate is a floor there. But
      // a download joining a live stream in start-up slows to the gentle gain at once, down to the
      // first round's rate: held at 2.9x of the stream's pace it flooded the path (worst chunk
      // 370 ms, joining at 0.5 s). Gentle start-up leaves on the first queue it builds.
      if (this.mode === 'startup' && this.carefulRound < 0) rate = Math.max(rate, this.gentle ? this.startupFloorRate : this.pacingRate);
      // Careful (and gentle) start-up slows the growth past what the path was measured to carry. An estimate
      // made of app-limited samples only is the application's pace, not the path's: 1.25x of it
      // paced a 60 Mbit/s stream at 12-20 Mbit/s in its first second once a busy host lifted the
      // RTT, and its chunks queued for a second. Once a full sample measured the path, careful
      // pacing follows it: held at the first round's 100 Mbit/s, a 20 Mbit/s path lost so much
      // in each light second of a flapping link that nothing got through.
      else if (this.mode === 'startup' && !this.measured) rate = Math.max(rate, this.startupFloorRate);
      this.pacingRate = Math.min(this.config.maxRate, rate);
      const floor = this.mode === 'startup' ? this.startupCwnd : 4 * mss;
      this.cwnd = Math.max(floor, this.cwndGain * this.bdp() + this.arrivalSpread() + 3 * 2 * mss);
      if (this.mode === 'probe_bw' && this.pacingGain > 1 && liveBesideBulk) {
        this.cwnd = Math.min(this.cwnd, Math.max(floor, PROBE_BESIDE_LIVE_INFLIGHT * Math.max(this.bdp(), this.probeStartInflight)));
      }
    }
  }
}
