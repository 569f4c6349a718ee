/**
 * Runs the data path once in memory before a relay takes traffic, so V8 has compiled it.
 *
 * A fresh Node process interprets the core for its first tens of thousands of packets: through
 * real relays on a clean loopback link the first second of a 60 Mbit/s stream saw RTTs of 10-15 ms
 * (0.3 ms warm) and chunks 130-150 ms late, every later second under 30 ms. Here a dialer and a
 * listener session, keyed with a throwaway key, exchange a short stream over an in-memory link on
 * a virtual clock: handshake, both FEC lanes, sealing and opening, ACKs, flow control. It takes
 * about a tenth of a second of CPU at start-up and touches no socket and no real session.
 */
import { randomBytes } from 'node:crypto';
import type { ReedSolomon } from '../fec/index.ts';
import { Listener } from '../session/listener.ts';
import { cryptoRng } from '../session/rng.ts';
import { Session } from '../session/session.ts';
import type { Millis } from '../session/time.ts';

/** Stream bytes sent each way: enough packets for the optimizing compiler to take over. */
const WARM_UP_BYTES = 2 << 20;
/** Virtual time the exchange may take at most (it needs about a second at ~1 Gbit/s). */
const WARM_UP_LIMIT_MS = 20_000;
/** Virtual one-way delay of the in-memory link. */
const LINK_DELAY_MS = 0.5;

/** Runs the warm-up; returns the stream bytes delivered (both ways), for a log line. */
export function warmUp(fec: ReedSolomon): number {
  const psk = randomBytes(32);
  const wallEpoch = Date.now();
  const dialer = Session.dial({ now: 0, wallNow: wallEpoch, psk, pathIds: [0], rng: cryptoRng, fec });
  const listener = new Listener({ psk, rng: cryptoRng, fec });
  let accepted: Session | null = null;
  const inFlight: Array<{ at: Millis; toListener: boolean; bytes: Uint8Array }> = [];
  const chunk = new Uint8Array(64 * 1024);
  let now: Millis = 0;
  let up = -1;
  let down = -1;
  let sent = 0;
  let delivered = 0;
  const send = (session: Session, toListener: boolean): void => {
    for (let t = session.pollTransmit(now); t !== null; t = session.pollTransmit(now)) {
      inFlight.push({ at: now + LINK_DELAY_MS, toListener, bytes: t.bytes });
    }
  };
  const read = (session: Session, id: number): void => {
    for (let r = session.streamRead(id); r !== null && r !== 'fin'; r = session.streamRead(id)) delivered += r.length;
  };
  while (now < WARM_UP_LIMIT_MS && delivered < 2 * WARM_UP_BYTES) {
    for (let i = 0; i < inFlight.length && inFlight[i].at <= now; ) {
      const d = inFlight.shift()!;
      if (!d.toListener) dialer.handleDatagram(now, 0, d.bytes);
      else {
        const r = listener.handleDatagram(now, wallEpoch + now, d.bytes);
        if (r.kind === 'accepted') {
          accepted = r.session;
          inFlight.push({ at: now + LINK_DELAY_MS, toListener: false, bytes: r.reply });
        }
      }
    }
    for (const s of [dialer, accepted]) {
      if (s === null) continue;
      const due = s.nextTimeout();
      if (due !== null && due <= now) s.handleTimeout(now);
      for (let e = s.pollEvent(); e !== null; e = s.pollEvent()) {
        if (e.type === 'streamOpened' && s === accepted) down = e.streamId;
      }
    }
    if (up < 0 && dialer.isConnected) up = dialer.openStream('')!;
    if (up >= 0 && sent < WARM_UP_BYTES) sent += dialer.streamWrite(up, chunk.subarray(0, Math.min(chunk.length, WARM_UP_BYTES - sent)));
    if (accepted !== null && down >= 0) {
      read(accepted, down);
      if (accepted.streamWrite(down, chunk) === 0) read(dialer, up);
    }
    if (up >= 0) read(dialer, up);
    send(dialer, true);
    if (accepted !== null) send(accepted, false);
    let next = inFlight.length > 0 ? inFlight[0].at : Infinity;
    for (const s of [dialer, accepted]) {
      const t = s?.nextTimeout() ?? null;
      if (t !== null && t < next) next = t;
    }
    now = Math.max(now + 0.001, Math.min(next, now + 1));
  }
  dialer.close(now, 'warm-up done');
  accepted?.close(now, 'warm-up done');
  return delivered;
}
