import type { SendGroup } from '../fec/encoder.ts';
import type { Millis } from '../../base/time.ts';

/**
 * What a sent packet carried that must be re-sent if it is lost: frames, not packets, are
 * retransmitted (RFC 9002 §2), each regenerated from current state when that is fresher.
 */
export type SentFrame =
  | { kind: 'stream'; streamId: number; offset: number; length: number; fin: boolean }
  | { kind: 'maxData' }
  | { kind: 'maxStreamData'; streamId: number }
  | { kind: 'resetStream'; streamId: number }
  | { kind: 'streamOpen'; streamId: number }
  | { kind: 'close' };

/** One packet in flight on a path, with the delivery-rate sample state of draft-cheng-iccrg-delivery-rate-estimation. */
export interface SentPacket {
  pn: number;
  timeSent: Millis;
  /** Datagram size in bytes, what congestion control counts. */
  size: number;
  ackEliciting: boolean;
  frames: SentFrame[];
  /** Path-wide delivered byte count when this packet was sent. */
  delivered: number;
  deliveredTime: Millis;
  firstSentTime: Millis;
  isAppLimited: boolean;
  /** The FEC group protecting this packet, if any: its loss is not declared before FEC had its chance. */
  fecGroup: SendGroup | null;
}
