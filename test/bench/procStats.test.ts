import { describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { cpuSeconds, parseStatCpuTicks, parseUdpDrops, parseVmHwmBytes, peakRssBytes, udpSocketDrops } from '../../bench/procStats.ts';

describe('/proc readings', () => {
  it('reads utime + stime after the command name, even one with spaces and parentheses', () => {
    const stat = '4242 (node (relay) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0 123 456 789';
    expect(parseStatCpuTicks(stat)).toBe(325);
  });

  it('reads VmHWM in bytes', () => {
    expect(parseVmHwmBytes('Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n')).toBe(51200 * 1024);
    expect(parseVmHwmBytes('Name:\tkthreadd\n')).toBeNull();
  });

  it('measures this process and gives null for one that is gone', () => {
    const start = cpuSeconds(process.pid)!;
    // Burn CPU until the 10 ms tick counter moves (or 2 s pass on a very busy machine).
    const until = performance.now() + 2000;
    while (cpuSeconds(process.pid) === start && performance.now() < until);
    expect(cpuSeconds(process.pid)!).toBeGreaterThan(start);
    expect(peakRssBytes(process.pid)!).toBeGreaterThan(10 * 2 ** 20);
    expect(cpuSeconds(2 ** 22 + 7)).toBeNull();
    expect(peakRssBytes(2 ** 22 + 7)).toBeNull();
  });

  it('sums the drops column of /proc/net/udp over the given sockets', () => {
    const table = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      ' 2375: 0100007F:90E4 0100007F:C6C0 01 00000000:00006C00 00:00000000 00000000     0        0 330077 2 00000000c21e23d7 12',
      '10357: 0100007F:B012 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 330061 2 0000000063fb7010 5',
      '10358: 0100007F:B013 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 330062 2 0000000063fb7011 7',
    ].join('\n');
    expect(parseUdpDrops(table, new Set(['330077', '330062']))).toBe(19);
    expect(parseUdpDrops(table, new Set())).toBe(0);
  });

  it('counts drops at this process\'s own overflowing UDP socket', async () => {
    const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 4096 });
    rx.bind(0, '127.0.0.1');
    await once(rx, 'listening');
    const before = udpSocketDrops([process.pid]);
    const tx = dgram.createSocket('udp4');
    // Sent in one synchronous burst: the 4 KiB buffer cannot hold them before anything reads.
    for (let i = 0; i < 200; i++) tx.send(Buffer.alloc(1000), rx.address().port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    expect(udpSocketDrops([process.pid]) - before).toBeGreaterThan(0);
    tx.close();
    rx.close();
  });
});
