/**
 * A handshake flooder, run as its own process so its CPU is not the test's:
 *
 *   node --import tsx test/security/flooder.ts HOST PORT RATE_PER_S SECONDS INIT_HEX
 *
 * Sends RATE_PER_S datagrams a second from one socket for SECONDS: a third forged inits (random
 * bytes behind the init type, at the init length), a third copies of INIT_HEX (one authentic
 * init, replayed), a third garbage Data packets. Prints one JSON line: what it sent and what came
 * back, so the caller can check that nothing answered with more than it was sent.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';

const [host, portText, rateText, secondsText, initHex] = process.argv.slice(2);
const port = Number(portText);
const rate = Number(rateText);
const seconds = Number(secondsText);
const init = Buffer.from(initHex, 'hex');

const socket = dgram.createSocket('udp4');
const sent = { datagrams: 0, bytes: 0, forged: 0, replayed: 0, garbage: 0 };
const received = { datagrams: 0, bytes: 0, largest: 0 };
socket.on('message', (msg) => {
  received.datagrams++;
  received.bytes += msg.length;
  received.largest = Math.max(received.largest, msg.length);
});
// ICMP errors and full buffers: a flooder does not care.
socket.on('error', () => {});

const TICK_MS = 10;
const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
const started = performance.now();

function send(b: Buffer): void {
  sent.datagrams++;
  sent.bytes += b.length;
  socket.send(b, port, host);
}

const timer = setInterval(() => {
  // Catch up after a late tick so the rate holds on a busy machine.
  const due = Math.round(((performance.now() - started) / 1000) * rate);
  for (let i = 0; i < perTick * 4 && sent.datagrams < due; i++) {
    switch (sent.datagrams % 3) {
      case 0: {
        const b = randomBytes(init.length);
        b[0] = init[0];
        sent.forged++;
        send(b);
        break;
      }
      case 1:
        sent.replayed++;
        send(init);
        break;
      default: {
        const b = randomBytes(60 + (sent.datagrams % 1200));
        b[0] = 0x03;
        sent.garbage++;
        send(b);
      }
    }
  }
  if (performance.now() - started >= seconds * 1000) {
    clearInterval(timer);
    // Let answers in flight arrive before reporting.
    setTimeout(() => {
      process.stdout.write(`${JSON.stringify({ sent, received, seconds: (performance.now() - started) / 1000 })}\n`);
      socket.close();
    }, 300);
  }
}, TICK_MS);
