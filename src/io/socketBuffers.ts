/**
 * Linux silently caps a socket's buffers at net.core.rmem_max / wmem_max (about 208 KiB by
 * default) whatever a program asks for, and a capped receive buffer drops datagrams whenever
 * the event loop is late at high rates. This compares what the kernel granted with what
 * `UdpSocket` asked for and tells the operator the one sysctl that fixes it.
 */
import { formatBytes } from './formatBytes.ts';
import type { Diagnostics } from './diagnosis.ts';
import { SOCKET_BUFFER_BYTES } from './udpSocket.ts';

/** What the check reads of a `dgram.Socket`. */
export interface BufferSizes {
  getRecvBufferSize(): number;
  getSendBufferSize(): number;
}

/**
 * Reports a `socket-buffer` problem when either buffer of `socket` is smaller than
 * `requested`. Linux reports twice the size it grants (its own bookkeeping), so a granted
 * request reads as 2x and a capped one as 2x the cap. Call once, on the first bound socket.
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
  if (recv >= requested && send >= requested) return;
  const granted = Math.min(recv, send) / 2;
  diagnostics.report(
    'socket-buffer',
    'udp',
    `the kernel capped UDP socket buffers at ${formatBytes(granted)} (asked for ${formatBytes(requested)}): at high rates datagrams may be dropped; raise the cap with sysctl -w net.core.rmem_max=${requested} net.core.wmem_max=${requested}`,
    { recvBufferBytes: recv, sendBufferBytes: send },
  );
}
