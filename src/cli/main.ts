/**
 * The `bering` command: dispatches subcommands and turns every failure into one
 * `bering: error: ...` line on stderr with a non-zero exit status.
 */
import { ListenError } from '../io/udpSocket.ts';
import { CliError, usageError } from './errors.ts';
import { generateKey, writeKeyFile } from './key.ts';
import { parseStrict } from './relayOptions.ts';
import { version } from './version.ts';

const USAGE = `bering: carries TCP services across long, lossy paths over an encrypted multi-path UDP tunnel

Usage:
  bering keygen [--out FILE]     print a new shared key, or write it to a new FILE (mode 0600; put it on both relays)
  bering relay [options]         run an entry or exit relay (bering relay --help)
  bering status [options]        show a running relay's sessions, paths and streams (bering status --help)
  bering demo [options]          both relays on this machine over an emulated trans-Pacific path (bering demo --help)
  bering bench [options]         compare with plain TCP and kcptun on emulated links (bering bench --help)
  bering -v, --version           print the version
  bering -h, --help              show this help

Exit status: 0 on success, 2 for a mistake in the flags, the config file or the key file, 1 otherwise.`;

const KEYGEN_USAGE = `Usage:
  bering keygen --out bering.key    writes a new key to a new file, readable by you alone
  bering keygen                     prints it instead

A new shared key: 32 random bytes, base64, on one line. Both relays need the same key; keep it
private. --out refuses to overwrite an existing file.`;

/** Runs `bering` with `argv` (without node and script); resolves with the exit status. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    // Bare `bering` is someone finding their way: show them the commands.
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case '-v':
    case '-V':
    case '--version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'keygen': {
      const { values } = parseStrict(rest, { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
      if (values.help) {
        process.stdout.write(`${KEYGEN_USAGE}\n`);
        return 0;
      }
      if (values.out === undefined) process.stdout.write(`${generateKey()}\n`);
      else writeKeyFile(values.out);
      return 0;
    }
    // Each command loads its own modules: help, keygen and a mistyped flag answer at once, and a
    // running relay holds no demo or bench code.
    case 'relay':
      return (await import('./relayCommand.ts')).relayCommand(rest);
    case 'status':
      return (await import('./status.ts')).statusCommand(rest);
    case 'demo':
      return (await import('./demo.ts')).demoCommand(rest);
    case 'bench':
      return (await import('./bench.ts')).benchCommand(rest);
    default:
      throw usageError(`unknown command '${command}' (try bering --help)`);
  }
}

/** Prints `err` as the one `bering: error:` line and returns the exit status for it. */
function report(err: unknown): number {
  const known = err instanceof CliError || err instanceof ListenError;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`bering: error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  // Bugs get their stack too, but only when asked for: users see one line.
  if (!known && err instanceof Error && /^(debug|trace)$/i.test(process.env.LOG_LEVEL ?? '')) {
    process.stderr.write(`${err.stack}\n`);
  }
  return err instanceof CliError ? err.exitCode : 1;
}

const fatal = (err: unknown): void => {
  process.exit(report(err));
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

// Exits explicitly rather than letting the event loop drain: Node 20's teardown after a drained
// loop spins forever once in a few dozen demo runs (nodejs/node#47748; seen here as a finished
// demo at 100% CPU in Environment::CleanupHandles). Every command has closed what it opened by
// the time it resolves, and stdout/stderr writes to files, pipes and terminals are synchronous.
process.exit(await main(process.argv.slice(2)).catch(report));
