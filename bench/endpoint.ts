/**
 * A bench workload endpoint, run as its own process so the load it generates is neither charged
 * to the relays nor slowed by the link emulator, and so kernel TCP runs can place it inside a
 * network namespace. Every system (bering, kcptun, kernel TCP) is driven by the same two
 * endpoints:
 *
 * - the service (`--listen HOST:PORT`): the TCP server behind the exit relay (or in the far
 *   namespace); it learns each connection's workload from a one-line JSON header;
 * - the viewer (no flag): connects when told to on stdin and writes that header.
 *
 * Control is JSON lines: commands on stdin ({@link Command}), events on stdout ({@link Event}).
 * Times are `process.hrtime` (CLOCK_MONOTONIC) in ms, one clock for every process on the machine,
 * network namespaces included, so a chunk stamped by one endpoint is timed by the other.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CBR_HEADER_BYTES, cbrChunks, cbrIntervalMs, monotonicMs, type Command, type Event, type ReceiveResult, type WorkloadSpec } from './workload.ts';

const PROGRESS_EVERY_MS = 250;
const MAX_HEADER_BYTES = 4096;

const payload = randomBytes(64 * 1024);

function emit(event: Event): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** One connection of one run, on either side. */
class Run {
  private readonly sending: boolean;
  private readonly receiving: boolean;
  private received = 0;
  private firstByteAt: number | null = null;
  private lastByteAt: number | null = null;
  private finished = false;
  private error: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  // CBR: one slot per chunk (the sender counts them, the receiver fills in their delays and stamps).
  private readonly delays: Array<number | null> = [];
  private readonly stamps: Array<number | null> = [];
  private readonly chunkHeader = Buffer.alloc(CBR_HEADER_BYTES);

  constructor(
    readonly id: string,
    private readonly spec: WorkloadSpec,
    private readonly socket: net.Socket,
    side: 'viewer' | 'service',
  ) {
    const sender = spec.direction === 'down' ? 'service' : 'viewer';
    this.sending = side === sender;
    this.receiving = !this.sending;
    if (spec.kind === 'cbr') {
      this.delays = new Array<number | null>(cbrChunks(spec)).fill(null);
      this.stamps = new Array<number | null>(this.delays.length).fill(null);
    }
    socket.setNoDelay(true);
    socket.on('error', (err) => {
      this.error ??= err.message;
      this.finish(false);
    });
    socket.on('close', () => this.finish(false));
    socket.on('end', () => {
      if (this.receiving) this.finish(this.isComplete());
      socket.end();
    });
    if (this.receiving) active.add(this);
  }

  /** Starts sending (if this side sends) once the socket is writable. */
  start(): void {
    this.socket.resume();
    if (!this.sending) return;
    if (this.spec.kind === 'bulk') this.sendBulk(this.spec.bytes);
    else this.sendCbr(this.spec);
  }

  /** Bytes arriving for this run (after the header on the service side). */
  onData(buf: Buffer): void {
    if (!this.receiving || this.finished) return;
    const at = monotonicMs();
    this.firstByteAt ??= at;
    this.lastByteAt = at;
    if (this.spec.kind === 'cbr') this.parseChunks(buf, at, this.spec.chunkBytes);
    this.received += buf.length;
    if (this.isComplete()) this.finish(true);
  }

  progress(): void {
    emit({ ev: 'progress', id: this.id, bytes: this.received, at: monotonicMs() });
  }

  /** The orchestrator's time cap: drop the connection and report what arrived. */
  stop(): void {
    this.finish(false);
  }

  private isComplete(): boolean {
    const spec = this.spec;
    return spec.kind === 'bulk' ? this.received >= spec.bytes : this.received >= this.delays.length * spec.chunkBytes;
  }

  private finish(complete: boolean): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    active.delete(this);
    runs.delete(this.id);
    if (this.receiving) {
      const result: ReceiveResult = {
        bytes: this.received,
        firstByteAt: this.firstByteAt,
        lastByteAt: this.lastByteAt,
        complete,
        error: complete ? null : this.error,
      };
      if (this.spec.kind === 'cbr') {
        result.delays = this.delays;
        result.stamps = this.stamps;
      }
      emit({ ev: 'done', id: this.id, result });
    }
    // A complete run ends politely (the peer may still be reading); a stopped or broken one
    // resets, so data still queued anywhere on the path is discarded rather than carried on.
    if (complete) this.socket.end();
    else this.socket.destroy();
  }

  private sendBulk(total: number): void {
    let written = 0;
    const more = (): void => {
      while (written < total && !this.finished) {
        const n = Math.min(payload.length, total - written);
        written += n;
        if (!this.socket.write(n === payload.length ? payload : payload.subarray(0, n))) return;
      }
      if (written >= total) this.socket.end();
    };
    this.socket.on('drain', more);
    more();
  }

  /**
   * A live stream: chunk i is due at start + i * interval and is written then, whatever the
   * socket's backlog (a camera does not wait), stamped with its due time so the receiver's delay
   * includes any wait in this process's socket buffer.
   */
  private sendCbr(spec: { rateMbps: number; chunkBytes: number; durationMs: number }): void {
    const count = this.delays.length;
    const intervalMs = cbrIntervalMs(spec);
    const start = monotonicMs();
    let next = 0;
    const tick = (): void => {
      if (this.finished) return;
      const now = monotonicMs();
      while (next < count && start + next * intervalMs <= now) {
        const chunk = Buffer.allocUnsafe(spec.chunkBytes);
        for (let off = CBR_HEADER_BYTES; off < chunk.length; off += payload.length) payload.copy(chunk, off, 0, Math.min(payload.length, chunk.length - off));
        chunk.writeUInt32BE(next, 0);
        chunk.writeDoubleBE(start + next * intervalMs, 4);
        this.socket.write(chunk);
        next++;
      }
      if (next >= count) {
        this.socket.end();
        return;
      }
      this.timer = setTimeout(tick, Math.max(0, start + next * intervalMs - monotonicMs()));
    };
    tick();
  }

  /** Walks `buf` through the fixed-size chunk framing, timing each chunk's last byte. */
  private parseChunks(buf: Buffer, at: number, chunkBytes: number): void {
    let pos = this.received;
    let i = 0;
    while (i < buf.length) {
      const inChunk = pos % chunkBytes;
      let take: number;
      if (inChunk < CBR_HEADER_BYTES) {
        take = Math.min(CBR_HEADER_BYTES - inChunk, buf.length - i);
        buf.copy(this.chunkHeader, inChunk, i, i + take);
      } else {
        take = Math.min(chunkBytes - inChunk, buf.length - i);
      }
      i += take;
      pos += take;
      if (pos % chunkBytes === 0) {
        const index = pos / chunkBytes - 1;
        const seq = this.chunkHeader.readUInt32BE(0);
        if (seq !== index || index >= this.delays.length) {
          this.error = `stream corrupted: chunk ${index} carries sequence number ${seq}`;
          this.finish(false);
          return;
        }
        const stamp = this.chunkHeader.readDoubleBE(4);
        this.stamps[index] = stamp;
        this.delays[index] = at - stamp;
      }
    }
  }
}

const runs = new Map<string, Run>();
const active = new Set<Run>();

/** The service side: one Run per accepted connection, its spec read from the header line. */
function serve(host: string, port: number): void {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    let head = Buffer.alloc(0);
    const onHead = (buf: Buffer): void => {
      head = Buffer.concat([head, buf]);
      const nl = head.indexOf(10);
      if (nl < 0) {
        if (head.length > MAX_HEADER_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onHead);
      let header: { id: string; spec: WorkloadSpec };
      try {
        header = JSON.parse(head.subarray(0, nl).toString('utf8')) as { id: string; spec: WorkloadSpec };
      } catch {
        socket.destroy();
        return;
      }
      const run = new Run(header.id, header.spec, socket, 'service');
      runs.set(header.id, run);
      socket.on('data', (b: Buffer) => run.onData(b));
      if (nl + 1 < head.length) run.onData(head.subarray(nl + 1));
      run.start();
    };
    socket.on('data', onHead);
    socket.on('error', () => socket.destroy());
  });
  server.on('error', (err) => {
    emit({ ev: 'fatal', message: `listen ${host}:${port}: ${err.message}` });
    process.exit(1);
  });
  server.listen(port, host, () => emit({ ev: 'ready', port: (server.address() as net.AddressInfo).port }));
}

/** The viewer side: connects for each `connect` command. */
function connect(cmd: Extract<Command, { op: 'connect' }>): void {
  const socket = net.connect({ host: cmd.target.host, port: cmd.target.port, allowHalfOpen: true });
  emit({ ev: 'started', id: cmd.id, at: monotonicMs() });
  const run = new Run(cmd.id, cmd.spec, socket, 'viewer');
  runs.set(cmd.id, run);
  socket.on('data', (b: Buffer) => run.onData(b));
  socket.write(`${JSON.stringify({ id: cmd.id, spec: cmd.spec })}\n`);
  socket.once('connect', () => run.start());
}

function main(): void {
  const { values } = parseArgs({ options: { listen: { type: 'string' } } });
  if (values.listen !== undefined) {
    const at = values.listen.lastIndexOf(':');
    serve(values.listen.slice(0, at), Number(values.listen.slice(at + 1)));
  } else {
    emit({ ev: 'ready', port: null });
  }
  setInterval(() => {
    for (const run of active) run.progress();
  }, PROGRESS_EVERY_MS);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const cmd = JSON.parse(line) as Command;
    if (cmd.op === 'connect') connect(cmd);
    else runs.get(cmd.id)?.stop();
  });
  // The orchestrator closing our stdin means the bench is over (or gone).
  lines.on('close', () => process.exit(0));
}

main();
