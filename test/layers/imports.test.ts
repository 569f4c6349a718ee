import { describe, expect, it } from 'vitest';
import { cycles, layerOf, readSourceFile, readTree, ROOT, type SourceFile } from './importGraph.ts';

/**
 * What each layer may import (docs/DESIGN.md, "Layers"). Bottom to top: base; wire and fec; session
 * (the core); sim (networks only: the harness that runs sessions over it is test/support); io
 * (drivers); lab (link emulation and helper processes on real sockets); metrics (the status
 * snapshot's shape); relay; bench (the harness); cli (the `bering` command, over everything).
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  base: [],
  wire: ['base'],
  fec: ['base'],
  session: ['base', 'wire', 'fec'],
  sim: ['base'],
  io: ['base', 'wire', 'fec', 'session'],
  lab: ['base', 'sim', 'io'],
  metrics: ['base', 'wire', 'fec', 'session', 'io'],
  relay: ['base', 'wire', 'fec', 'session', 'io', 'metrics'],
  bench: ['base', 'wire', 'fec', 'session', 'sim', 'io', 'lab', 'metrics', 'relay'],
  cli: ['base', 'wire', 'fec', 'session', 'sim', 'io', 'lab', 'metrics', 'relay', 'bench'],
};

/** Lab equipment runs in the demo and the bench, never in a relay: only these commands load it. */
const LAB_USERS_IN_CLI = ['src/cli/demo.ts', 'src/cli/demoTcp.ts', 'src/cli/bench.ts'];

/** The sans-IO core: no clock, no timer, no socket, no ambient randomness, no file. */
const CORE = ['base', 'wire', 'fec', 'session', 'sim'];
/** Packages the core may load: pure computation (hashes, key agreement, protobuf), native AEAD. */
const CORE_PACKAGES = ['crypto', 'module', 'protobufjs'];
/** The one file read in the core: the committed Reed-Solomon .wasm, once at load. */
const CORE_FILE_READERS: Record<string, readonly string[]> = { 'src/fec/wasm.ts': ['fs'] };

function layerViolations(file: SourceFile): string[] {
  const from = layerOf(file.path);
  if (from === null) return [];
  return file.imports.flatMap((target) => {
    const to = layerOf(target);
    if (to === null || to === from) return [];
    if (!MAY_IMPORT[from].includes(to)) return [`${file.path} -> ${target}: ${from}/ may import ${MAY_IMPORT[from].join(', ') || 'nothing'}`];
    if (from === 'cli' && to === 'lab' && !LAB_USERS_IN_CLI.includes(file.path)) return [`${file.path} -> ${target}: only the demo and bench commands load lab/`];
    return [];
  });
}

function purityViolations(file: SourceFile): string[] {
  if (!CORE.includes(layerOf(file.path) ?? '')) return [];
  const allowed = [...CORE_PACKAGES, ...(CORE_FILE_READERS[file.path] ?? [])];
  const packages = file.imports.filter((i) => !i.startsWith('src/') && !allowed.includes(i)).map((i) => `${file.path} imports ${i}`);
  return [...packages, ...file.ambient.map((a) => `${file.path} uses ${a}`)];
}

function folderEdges(files: SourceFile[]): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const file of files) {
    const from = layerOf(file.path)!;
    for (const target of file.imports) {
      const to = layerOf(target);
      if (to === null || to === from) continue;
      edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  return edges;
}

const files = readTree(['src', 'bench']);

describe('the import graph of src/ and bench/', () => {
  it('reads every layer and finds the imports', () => {
    const layers = new Set(files.map((f) => layerOf(f.path)));
    expect([...layers].sort()).toEqual(Object.keys(MAY_IMPORT).sort());
    expect(files.find((f) => f.path === 'src/session/session.ts')?.imports).toContain('src/wire/packet.ts');
    // A dynamic import counts as much as a static one.
    expect(files.find((f) => f.path === 'src/cli/main.ts')?.imports).toContain('src/cli/bench.ts');
  });

  it('points downward only: every import is of the same layer or one listed below it', () => {
    expect(files.flatMap(layerViolations)).toEqual([]);
  });

  it('has no cycle between folders, nor between files', () => {
    expect(cycles(folderEdges(files))).toEqual([]);
    const fileEdges = new Map(files.map((f) => [f.path, new Set(f.imports.filter((i) => layerOf(i) !== null))]));
    expect(cycles(fileEdges)).toEqual([]);
  });

  it('keeps the core (base, wire, fec, session, sim) sans-IO: no clock, timer, socket, file or ambient randomness', () => {
    expect(files.filter((f) => CORE.includes(layerOf(f.path)!)).length).toBeGreaterThan(40);
    expect(files.flatMap(purityViolations)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const probe = (path: string, text: string): SourceFile => readSourceFile(`${ROOT}/${path}`, text);

  it('catch a production driver importing lab equipment or the simulator, and a core module importing a driver', () => {
    expect(layerViolations(probe('src/io/x.ts', "import { ImpairmentProxy } from '../lab/impairmentProxy.ts';"))).toHaveLength(1);
    expect(layerViolations(probe('src/io/x.ts', "import type { Link } from '../sim/link.ts';"))).toHaveLength(1);
    expect(layerViolations(probe('src/session/x.ts', "export { UdpSocket } from '../io/udpSocket.ts';"))).toHaveLength(1);
    expect(layerViolations(probe('src/relay/x.ts', "const m = await import('../lab/children.ts');"))).toHaveLength(1);
    expect(layerViolations(probe('src/cli/relayCommand2.ts', "import { freePort } from '../lab/freePort.ts';"))).toHaveLength(1);
    expect(layerViolations(probe('src/relay/x.ts', "import { ResetCode } from '../session/resetCode.ts';"))).toEqual([]);
  });

  it('catch clocks, timers, sockets and ambient randomness in the core, and not a method that shares a name', () => {
    const impure = [
      "import dgram from 'dgram';",
      "import { createSocket } from 'node:dgram';",
      "import net from 'node:net';",
      "import { setTimeout as sleep } from 'node:timers/promises';",
      'const t = Date.now();',
      'const d = new Date();',
      'const t = performance.now();',
      'const b = globalThis.crypto.getRandomValues(new Uint8Array(4));',
      'const r = Math.random();',
      'setTimeout(() => {}, 1);',
      'const later = setImmediate;',
    ];
    for (const text of impure) expect(purityViolations(probe('src/wire/x.ts', text)), text).not.toEqual([]);
    expect(purityViolations(probe('src/session/x.ts', 'this.timers.setTimeout(now); const o = { setInterval: 1 }; o.setInterval;'))).toEqual([]);
    expect(purityViolations(probe('src/io/x.ts', 'setTimeout(() => {}, 1);'))).toEqual([]);
  });

  it('find a cycle through three folders', () => {
    const edges = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
    ]);
    expect(cycles(edges)).toEqual([['a', 'b', 'c', 'a']]);
  });
});
