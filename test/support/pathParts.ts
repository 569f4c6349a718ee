import type { SentPacket } from '../../src/session/ack/sentPacket.ts';
import type { PathConfig } from '../../src/session/path.ts';

/** A regular path as the default session config makes it (see session/config.ts). */
export const PATH_CONFIG: PathConfig = {
  mtu: 1350,
  initialRttMs: 200,
  maxAckDelayMs: 5,
  ackEveryPackets: 10,
  initialCwndPackets: 256,
  initialRate: 12_500,
  maxRate: Infinity,
  backup: false,
};

/** An ack-eliciting packet with no frames, as the sent history and the rate estimator see it. */
export function sentPacket(pn: number, timeSent: number, size = 1350): SentPacket {
  return { pn, timeSent, size, ackEliciting: true, frames: [], delivered: 0, deliveredTime: 0, firstSentTime: 0, isAppLimited: false, fecGroup: null };
}
