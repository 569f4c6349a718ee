/**
 * `bin/bering`'s compiled start (bin/compiled.mjs): the sources as they are now, never a stale
 * build, with every path they resolve against their own location left where it was; and the
 * sources through tsx when asked.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript, run before any TypeScript loader is there.
import { compiledModule } from '../../bin/compiled.mjs';
import { run } from './run.ts';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A tree with two modules: `a` imports `b` and resolves a file next to its own source. */
function tree(b: string): string {
  const root = mkdtempSync(join(tmpdir(), 'bering-compiled-'));
  roots.push(root);
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'src', 'a.ts'), "import { b } from './b.ts';\nexport const out: string = `${b} ${new URL('./data.txt', import.meta.url).pathname}`;\n");
  writeFileSync(join(root, 'src', 'b.ts'), `export const b: string = '${b}';\n`);
  return root;
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

describe('the compiled start', () => {
  it('runs the sources as they are now: a file changed since the last build gets a build of its own', async () => {
    const root = tree('one');
    const first = (await compiledModule('src/a.ts', root)) as string | null;
    expect(first).not.toBeNull();
    expect(fileURLToPath(first!)).toContain(join(root, 'node_modules', '.cache', 'bering'));
    // import.meta.url is the source's, so what it resolves stays beside the source.
    expect(((await import(first!)) as { out: string }).out).toBe(`one ${join(root, 'src', 'data.txt')}`);
    expect(await compiledModule('src/a.ts', root)).toBe(first);

    writeFileSync(join(root, 'src', 'b.ts'), "export const b: string = 'two';\n");
    const later = new Date(Date.now() + 5000);
    utimesSync(join(root, 'src', 'b.ts'), later, later);
    const second = (await compiledModule('src/a.ts', root)) as string | null;
    expect(second).not.toBe(first);
    expect(((await import(second!)) as { out: string }).out).toBe(`two ${join(root, 'src', 'data.txt')}`);
  });

  it("compiles bering's own tree with no .ts import left and each file's own URL kept", async () => {
    const main = (await compiledModule('src/cli/main.ts')) as string | null;
    expect(main).not.toBeNull();
    const build = fileURLToPath(new URL('../../', main!));
    const files = jsFiles(build);
    expect(files.length).toBeGreaterThan(100);
    for (const file of files) expect(readFileSync(file, 'utf8'), file).not.toMatch(/(?:\bfrom|\bimport)\s*\(?\s*"\.{1,2}\/[^"]*\.ts"/);
    const wasm = readFileSync(join(build, 'src', 'fec', 'wasm.js'), 'utf8');
    expect(wasm).toContain(JSON.stringify(new URL('../../src/fec/wasm.ts', import.meta.url).href));
  });

  it('runs the sources through tsx with BERING_COMPILED=0', async () => {
    const r = await run(['--version'], { BERING_COMPILED: '0' });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
