/**
 * The demo's direct-TCP leg: Linux kernel TCP from a sender in one network namespace to a
 * receiver in another, across a {@link NamespaceLink} built from the same link model and seed as
 * the tunnel's impairment proxy. Both ends are `socat` processes piped to this one: the sender
 * writes what we feed its stdin to the connection, the receiver writes the connection to its
 * stdout, so the counting and checking happen here.
 *
 * Plain TCP on a lossy long path cannot finish a payload sized for the tunnel, so this leg has no
 * size: it sends an endless stream until {@link DirectTcpLeg.finish}. The stream is an AES-CTR
 * keystream under a fresh key, which this side regenerates to hash exactly the prefix that arrived.
 */
import { execFile as execFileCb, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash, randomBytes, type Cipher } from 'node:crypto';
import { promisify } from 'node:util';
import { processAlive, stopChild, tailOf } from '../lab/children.ts';
import { ADDR_A, ADDR_B, HELPER_GRACE_MS, NamespaceLink } from '../lab/namespaceLink.ts';
import type { LinkConfig, LinkStats } from '../sim/link.ts';

const execFile = promisify(execFileCb);

/** The congestion control of the direct leg: Linux's default. */
export const TCP_CC = 'cubic';
const PORT = 5001;
const CHUNK = Buffer.alloc(64 * 1024);
/** Namespaces of a demo run are named after its pid, so runs (and the bench's) never collide. */
const NS_PATTERN = /^bering-demo-(\d+)-[ab]$/;

/** What the leg achieved until it was stopped. */
export interface DirectTcpResult {
  bytes: number;
  seconds: number;
  /** SHA-256 of the bytes received, and of the same-length prefix of the stream that was sent. */
  receivedSha256: string;
  sentSha256: string;
  /** Why it stopped before being told to (a helper exited, the connection failed), or null. */
  failure: string | null;
}

export class DirectTcpLeg {
  private readonly key = randomBytes(32);
  private readonly iv = randomBytes(16);
  private readonly receivedHash = createHash('sha256');
  private readonly sentHash = createHash('sha256');
  /** Regenerates the sent stream, to hash the prefix that arrived. */
  private readonly expected: Cipher;
  private received = 0;
  private startedAt = 0;
  private sender: ChildProcess | null = null;
  private failure: string | null = null;
  private result: Promise<DirectTcpResult> | null = null;

  private constructor(
    private readonly link: NamespaceLink,
    private readonly receiver: ChildProcess,
  ) {
    this.expected = createCipheriv('aes-256-ctr', this.key, this.iv);
    receiver.stdout!.on('data', (b: Buffer) => {
      if (this.result !== null) return;
      this.received += b.length;
      this.receivedHash.update(b);
      this.sentHash.update(this.expected.update(Buffer.alloc(b.length)));
    });
    this.watch(receiver, 'receiver');
  }

  /** Sets up the namespaces over `aToB`/`bToA` seeded with `seed`, and a receiver listening in B. */
  static async start(opts: { aToB: LinkConfig; bToA: LinkConfig; seed: number }): Promise<DirectTcpLeg> {
    await removeStaleNamespaces();
    const id = process.pid;
    const link = await NamespaceLink.start({
      names: { nsA: `bering-demo-${id}-a`, nsB: `bering-demo-${id}-b`, tunA: `bdemo${id}a`, tunB: `bdemo${id}b` },
      ...opts,
      cc: TCP_CC,
    });
    try {
      const receiver = link.spawn('b', 'socat', ['-d', '-d', '-u', `TCP-LISTEN:${PORT},bind=${ADDR_B}`, 'STDOUT'], ['ignore', 'pipe', 'pipe']);
      await listening(receiver);
      return new DirectTcpLeg(link, receiver);
    } catch (err) {
      await link.close();
      throw err;
    }
  }

  /** One line on how the leg is wired. */
  describe(): string {
    const { nsA, nsB } = this.link.names;
    return (
      `sender ${ADDR_A} (netns ${nsA}) ~~TUN/UDP~~> link bridge 127.0.0.1:${this.link.bridge.portA} ~~> ` +
      `receiver ${ADDR_B}:${PORT} (netns ${nsB}), Linux TCP ${TCP_CC}`
    );
  }

  /** Bytes received so far (read live by the progress line). */
  delivered(): number {
    return this.received;
  }

  get finished(): boolean {
    return this.result !== null;
  }

  /** Connects and starts sending; the clock starts now. */
  begin(): void {
    this.startedAt = performance.now();
    const sender = this.link.spawn('a', 'socat', ['-u', 'STDIN', `TCP:${ADDR_B}:${PORT}`], ['pipe', 'ignore', 'pipe']);
    this.sender = sender;
    this.watch(sender, 'sender');
    const stream = createCipheriv('aes-256-ctr', this.key, this.iv);
    const stdin = sender.stdin!;
    // A dead sender shows up through its exit, with its stderr.
    stdin.on('error', () => undefined);
    const writeMore = (): void => {
      while (this.result === null && stdin.write(stream.update(CHUNK)));
    };
    stdin.on('drain', writeMore);
    writeMore();
  }

  /** Stops the transfer (idempotent) and resolves with what arrived until now. */
  finish(): Promise<DirectTcpResult> {
    this.result ??= (async () => {
      const seconds = (performance.now() - this.startedAt) / 1000;
      const result: DirectTcpResult = {
        bytes: this.received,
        seconds,
        receivedSha256: this.receivedHash.digest('hex'),
        sentSha256: this.sentHash.digest('hex'),
        failure: this.failure ?? this.link.deaths(),
      };
      await Promise.all([this.sender, this.receiver].map((c) => (c === null ? undefined : stopChild(c, 'SIGTERM', HELPER_GRACE_MS))));
      return result;
    })();
    return this.result;
  }

  /** The bridge's counters, and packets the TUN devices dropped outside the link model. */
  async linkStats(): Promise<{ aToB: LinkStats; bToA: LinkStats; deviceDrops: number }> {
    const { aToB, bToA } = this.link.bridge.stats();
    return { aToB, bToA, deviceDrops: await this.link.deviceDrops() };
  }

  /** Stops everything and deletes the namespaces. */
  async close(): Promise<void> {
    await this.link.close();
  }

  private watch(child: ChildProcess, role: string): void {
    const stderr = tailOf(child);
    child.on('exit', (code, signal) => {
      if (this.result !== null) return;
      const why = stderr().trim().split('\n').slice(-2).join(' | ') || 'no output';
      this.failure ??= `the ${role} (socat) exited (${signal ?? code}): ${why}`;
    });
  }
}

/** Resolves once socat says it is listening; rejects if it exits first or takes over 5 s. */
function listening(socat: ChildProcess): Promise<void> {
  return new Promise((ok, fail) => {
    let seen = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socat.stderr!.off('data', onData);
      socat.off('exit', onExit);
      if (err === undefined) ok();
      else fail(err);
    };
    const onData = (b: Buffer): void => {
      seen += b.toString();
      if (/listening on/.test(seen)) done();
    };
    const onExit = (): void => done(new Error(`the receiver (socat) exited: ${seen.trim() || 'no output'}`));
    const timer = setTimeout(() => done(new Error('the receiver (socat) was not listening within 5 s')), 5000);
    socat.stderr!.on('data', onData);
    socat.on('exit', onExit);
  });
}

/**
 * Deletes the namespaces of demo runs that were killed (SIGKILL leaves no chance to clean up),
 * recognised by a pid in their name that no longer runs.
 */
async function removeStaleNamespaces(): Promise<void> {
  // `ip netns list` fails while the kernel is still tearing a namespace down: sweep next time.
  const { stdout } = await execFile('ip', ['netns', 'list']).catch(() => ({ stdout: '' }));
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0];
    const pid = NS_PATTERN.exec(name)?.[1];
    if (pid !== undefined && !processAlive(Number(pid))) await execFile('ip', ['netns', 'del', name]).catch(() => undefined);
  }
}
