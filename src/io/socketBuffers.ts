/**
 * Linux silently caps a socket's buffers at net.core.rmem_max / wmem_max (about 208 KiB by
 * default) whatever a program asks for, and a capped receive buffer drops datagrams whenever
 * the event loop is late at high rates. This asks for what `UdpSocket` asks for on a socket of
 * its own, compares it with what the kernel granted, and tells the operator the one sysctl
 * that fixes it.
 */
import dgram from 'node:dgram';
import { formatBytes } from './formatBytes.ts';
import type { Diagnostics } from './diagnosis.ts';
import { SOCKET_BUFFER_BYTES } from './udpSocket.ts';

/** What the check reads of a `dgram.Socket`. */
export interface BufferSizes {
  getRecvBufferSize(): number;
  getSendBufferSize(): number;
}

/**
 * Binds a throwaway UDP socket on loopback, asks for the relays' buffer size, and reports what
 * {@link checkSocketBuffers} finds. The kernel's caps are the same for every socket, so this
 * one speaks for the relay's. Call once at start; a few hundred microseconds.
 */
export async function probeSocketBuffers(diagnostics: Diagnostics): Promise<void> {
  // Other kernels report buffer sizes differently (not doubled) and have other knobs.
  if (process.platform !== 'linux') return;
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((ok, fail) => {
      socket.once('error', fail);
      socket.bind(0, '127.0.0.1', () => ok());
    });
    socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
    socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
    checkSocketBuffers(socket, diagnostics);
  } catch {
    // No loopback UDP or no buffer options (a sandbox): nothing to advise on.
  } finally {
    socket.close();
  }
}

/**
 * Reports a `socket-buffer` problem when either buffer of `socket` is smaller than
 * `requested`. Linux reports twice the size it granted (room for its own bookkeeping), so
 * half the reported size is what the request got: all of it, or the cap.
 */
export function checkSocketBuffers(socket: BufferSizes, diagnostics: Diagnostics, requested = SOCKET_BUFFER_BYTES): void {
  let recv: number;
  let send: number;
  try {
    recv = socket.getRecvBufferSize();
    send = socket.getSendBufferSize();
  } catch {
    // A socket that is not bound (or a platform without the option) has nothing to report.
    return;
  }
  const granted = Math.min(recv, send) / 2;
  if (granted >= requested) return;
  diagnostics.report(
    'socket-buffer',
    'udp',
    `the kernel capped UDP socket buffers at ${formatBytes(granted)} (asked for ${formatBytes(requested)}): at high rates datagrams may be dropped; raise the cap with sysctl -w net.core.rmem_max=${requested} net.core.wmem_max=${requested}`,
    { recvBufferBytes: recv, sendBufferBytes: send },
  );
}
