/**
 * Reset codes carried in RESET_STREAM: why a stream ended early. Its own module so that the
 * relay, which picks the code, needs nothing else of the session's internals.
 */
export const ResetCode = {
  /** The application (a TCP socket) aborted. */
  Aborted: 1,
  /** The peer refused the stream: too many streams. */
  Refused: 2,
  /** The exit relay could not reach its target. */
  ConnectFailed: 3,
  /** The session is going away. */
  SessionClosed: 4,
} as const;
