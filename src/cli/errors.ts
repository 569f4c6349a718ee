/**
 * Errors the user can fix: bad flags, a bad key file, an address in use. `main` prints their
 * message as one `bering: error: ...` line and exits non-zero, never with a stack trace.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** Process exit status: 2 for usage mistakes, 1 for everything else. */
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A usage mistake (flags, arguments, config keys): exit status 2. */
export function usageError(message: string): CliError {
  return new CliError(message, 2);
}
