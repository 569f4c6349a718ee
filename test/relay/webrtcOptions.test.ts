/** WebRTC settings from flags and from a config file. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/errors.ts';
import { parseRelayArgs } from '../../src/cli/relayOptions.ts';
import { tempDir, writeTemp } from '../cli/run.ts';

const dir = tempDir();
const keyFile = writeTemp(dir, 'bering.key', randomBytes(32).toString('base64'));

describe('WebRTC relay settings', () => {
  it('reads webrtc:// peers beside UDP ones, in order, and STUN servers', () => {
    const s = parseRelayArgs(['--tcp-listen', '127.0.0.1:32400', '--peer', '203.0.113.7:7000,webrtc://203.0.113.7:7001', '--stun', 'stun:stun.example.net:3478', '--key-file', keyFile])!;
    expect(s.peers).toEqual([
      { host: '203.0.113.7', port: 7000 },
      { host: '203.0.113.7', port: 7001, webrtc: true },
    ]);
    expect(s.stunServers).toEqual(['stun:stun.example.net:3478']);
  });

  it('takes an exit relay with WebRTC paths only', () => {
    const s = parseRelayArgs(['--webrtc-listen', '0.0.0.0:7001', '--forward', '127.0.0.1:32400', '--key-file', keyFile])!;
    expect(s).toMatchObject({ udpListen: [], webrtcListen: { host: '0.0.0.0', port: 7001 }, stunServers: [] });
  });

  it('reads the same from a config file, with per-path options on a WebRTC path', () => {
    const entry = writeTemp(
      dir,
      'entry.yaml',
      [
        'tcpListen: 0.0.0.0:32400',
        'peer:',
        '  - 203.0.113.7:7000',
        '  - { address: "webrtc://203.0.113.7:7001", backup: true }',
        'stun: [ "stun:stun.example.net:3478", "turn:bering:secret@turn.example.net:3478" ]',
        `keyFile: ${keyFile}`,
      ].join('\n'),
    );
    const s = parseRelayArgs(['--config', entry])!;
    expect(s.peers).toEqual([
      { host: '203.0.113.7', port: 7000 },
      { host: '203.0.113.7', port: 7001, webrtc: true },
    ]);
    expect(s.session.paths).toEqual([{}, { backup: true }]);
    expect(s.stunServers).toEqual(['stun:stun.example.net:3478', 'turn:bering:secret@turn.example.net:3478']);
    const exit = writeTemp(dir, 'exit.json', JSON.stringify({ udpListen: '0.0.0.0:7000', webrtcListen: '0.0.0.0:7001', forward: '192.168.1.10:32400', keyFile }));
    expect(parseRelayArgs(['--config', exit])).toMatchObject({ udpListen: [{ host: '0.0.0.0', port: 7000 }], webrtcListen: { host: '0.0.0.0', port: 7001 } });
  });

  it.each([
    [['--tcp-listen', '127.0.0.1:1', '--peer', 'quic://127.0.0.1:7000'], /--peer: unknown path kind in 'quic:\/\/127.0.0.1:7000'/],
    [['--tcp-listen', '127.0.0.1:1', '--peer', 'webrtc://nowhere'], /--peer: bad address 'nowhere'/],
    [['--tcp-listen', '127.0.0.1:1', '--webrtc-listen', '127.0.0.1:7001', '--peer', '127.0.0.1:7000'], /give either --peer \(dial the other relay\) or --webrtc-listen \(wait for it\), not both/],
    [['--tcp-listen', '127.0.0.1:1', '--peer', 'webrtc://127.0.0.1:7001', '--stun', 'stun.example.net'], /--stun: bad STUN\/TURN server 'stun.example.net'/],
    [['--tcp-listen', '127.0.0.1:1', '--peer', '127.0.0.1:7000', '--stun', 'stun:stun.example.net:3478'], /--stun: STUN servers serve WebRTC paths only/],
  ])('names the mistake in %j as a flag error', (args, message) => {
    let thrown: unknown;
    try {
      parseRelayArgs([...args, '--key-file', keyFile]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CliError);
    expect((thrown as CliError).message).toMatch(message);
    expect((thrown as CliError).exitCode).toBe(2);
  });
});
