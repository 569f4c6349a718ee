/**
 * The one error type of the wire layer. Every decoder in `src/wire` reports malformed input by
 * throwing a {@link WireError} and nothing else, so the session can catch exactly this class
 * (and treat anything else as a bug). Encoders throw it too when asked to write a value the
 * format cannot carry or that does not fit the buffer.
 */

/**
 * Stable reason codes, in the manner of yamux/QUIC error reasons:
 * - `truncated`: the input ended inside a field.
 * - `overflow`: an encoder ran out of room in its output buffer.
 * - `bad-varint`: a QUIC varint decodes to more than 2^53-1 (not exact in a JS number).
 * - `bad-value`: an encoder was given a value outside its field's range.
 * - `unknown-frame`: a frame type this version does not define.
 * - `bad-length`: a length, offset or count that is out of range for its field.
 * - `bad-flags`: reserved flag bits are set.
 * - `bad-ack`: ACK ranges that underflow packet number 0 or exceed 2^48-1.
 * - `bad-padding`: a non-zero byte after a PADDING frame.
 * - `bad-utf8`: a CLOSE reason that is not valid UTF-8.
 * - `bad-control`: a CONTROL frame whose protobuf body does not decode to a known message.
 */
export type WireErrorCode =
  | 'truncated'
  | 'overflow'
  | 'bad-varint'
  | 'bad-value'
  | 'unknown-frame'
  | 'bad-length'
  | 'bad-flags'
  | 'bad-ack'
  | 'bad-padding'
  | 'bad-utf8'
  | 'bad-control';

/** Malformed wire input (or an unencodable value); `code` is stable, `message` is for humans. */
export class WireError extends Error {
  override readonly name = 'WireError';

  constructor(
    readonly code: WireErrorCode,
    message: string = code,
  ) {
    super(message);
  }
}
