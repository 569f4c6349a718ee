/**
 * Control messages: protobuf (proto3) `bering.Control` from `proto/bering.proto`, carried in
 * CONTROL frames. They are rare (stream opens), so reflection-based protobufjs is fast enough and
 * keeps the .proto the single source of truth. The schema comes from its generated descriptor
 * (controlSchema.ts, `npm run proto`), built once when this module loads: no file is read.
 */
import protobuf from 'protobufjs';
import { CONTROL_SCHEMA } from './controlSchema.ts';
import { WireError } from './errors.ts';

const ControlType = protobuf.Root.fromJSON(CONTROL_SCHEMA).lookupType('bering.Control');

/** `bering.StreamOpen`: announces a stream and the service its far end should connect to. */
export interface StreamOpen {
  streamId: number;
  /** Service name from the exit relay's config; '' for its default `--forward` target. */
  service: string;
}

/**
 * `bering.Control`: exactly one member is set; `streamOpen` is the only one so far. Closing the
 * session is not a control message but the binary CLOSE frame (frames.ts), which stays decodable
 * and non-ack-eliciting.
 */
export type Control = { streamOpen: StreamOpen };

/** A uint64 as protobufjs decodes it: a `Long` when the long package is present, else a number. */
type Uint64 = number | { high: number; low: number };

function toSafeNumber(v: Uint64, field: string): number {
  if (typeof v === 'number') return v;
  const high = v.high >>> 0;
  if (high > 0x1fffff) throw new WireError('bad-control', `${field} above 2^53-1`);
  return high * 2 ** 32 + (v.low >>> 0);
}

function checkU53(v: number, field: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new WireError('bad-value', `${field}: ${v}`);
}

/**
 * Serializes a control message to protobuf bytes, to be wrapped by `encodeControlFrame`. Keep the
 * bytes if the frame may need retransmission. Cost: a reflective protobuf encode, a few µs.
 * Throws WireError('bad-value') for a stream id that is not an integer in [0, 2^53-1].
 */
export function encodeControl(msg: Control): Uint8Array {
  const { streamId, service } = msg.streamOpen;
  checkU53(streamId, 'streamId');
  return ControlType.encode({ streamOpen: { streamId, service } }).finish();
}

/**
 * Parses protobuf bytes of a `bering.Control`. Throws WireError('bad-control') when the bytes do
 * not parse, set no known member (an empty message, or one from a newer peer), or carry a
 * number above 2^53-1. Called by `decodeFrames` for CONTROL frames.
 */
export function decodeControl(bytes: Uint8Array): Control {
  let m: Record<string, unknown>;
  try {
    m = ControlType.decode(bytes) as unknown as Record<string, unknown>;
  } catch (e) {
    throw new WireError('bad-control', `protobuf: ${(e as Error).message}`);
  }
  switch (m.msg) {
    case 'streamOpen': {
      const so = m.streamOpen as { streamId: Uint64; service: string };
      return { streamOpen: { streamId: toSafeNumber(so.streamId, 'streamId'), service: so.service } };
    }
    default:
      throw new WireError('bad-control', 'no known control message set');
  }
}
