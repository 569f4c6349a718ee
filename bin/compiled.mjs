/**
 * `bin/bering`'s fast start: the TypeScript sources compiled once to plain JavaScript, so a start
 * does not pay for tsx's loader, which compiles and resolves every module through a hooks thread:
 * about 0.8 s of CPU per process of the ~1 s `bering --version` took, and a test run starts a
 * hundred relays and commands.
 *
 * The build is keyed by every source file's path, size and mtime, so an edited file is never run
 * stale: a changed tree gets a new build on its first start (esbuild, well under a second), kept
 * under node_modules/.cache/bering. Each file is transformed alone into the same layout, relative
 * `.ts` imports become `.js`, and `import.meta.url` keeps the source file's own URL, so paths
 * resolved against it (the wasm, the dashboard, package.json) stay where they are. Anything that
 * goes wrong here returns null and the caller runs the sources through tsx as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What `bering` runs, commands and the bench it carries: every module it can import. */
const SOURCE_DIRS = ['src', 'bench', 'test/support'];
/**
 * Builds older than this are removed when a new one is made. A process started from one loads
 * its modules at start, so one that runs for weeks does not miss them.
 */
const STALE_MS = 24 * 3600 * 1000;
/** Changes whenever the way files are compiled does: old builds are then never picked. */
const FORMAT = 'esm-node20-1';

function sources(root) {
  const files = [];
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  return files.sort();
}

function fingerprint(root, files) {
  // The build holds the sources' absolute URLs: a copy of the repository elsewhere builds its own.
  const hash = createHash('sha256').update(`${FORMAT}\0${root}\n`);
  for (const file of files) {
    const st = statSync(join(root, file));
    hash.update(`${file}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 20);
}

/** Relative `.ts` specifiers of static, re-exported, side-effect and dynamic imports, as esbuild prints them. */
const TS_SPECIFIER = /((?:\bfrom|\bimport)\s*\(?\s*)"(\.{1,2}\/[^"]*)\.ts"/g;

async function build(root, files, dir) {
  const { transform } = await import('esbuild');
  const temp = `${dir}.tmp-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  for (const file of files) {
    const source = readFileSync(join(root, file), 'utf8');
    const { code } = await transform(source, {
      loader: 'ts',
      format: 'esm',
      target: 'node20',
      sourcefile: file,
      define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(root, file)).href) },
    });
    const out = join(temp, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, code.replace(TS_SPECIFIER, '$1"$2.js"'));
  }
  // Bare imports (pino, sodium-native) resolve from here up to the repository's node_modules.
  writeFileSync(join(temp, 'package.json'), '{"type":"module"}\n');
  try {
    renameSync(temp, dir);
  } catch {
    // Another start built the same tree first: use theirs.
    rmSync(temp, { recursive: true, force: true });
  }
}

function pruneOthers(cache, keep) {
  for (const name of readdirSync(cache)) {
    const path = join(cache, name);
    if (path === keep) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another start meanwhile.
    }
  }
}

/**
 * The file URL of the compiled `module` (a path under `root`, as `src/cli/main.ts`), or null;
 * builds under `root`'s node_modules/.cache/bering. `BERING_COMPILED=0` asks for the sources.
 */
export async function compiledModule(module, root = ROOT) {
  if (process.env.BERING_COMPILED === '0') return null;
  try {
    const files = sources(root);
    const cache = join(root, 'node_modules', '.cache', 'bering');
    const dir = join(cache, fingerprint(root, files));
    if (!existsSync(join(dir, 'package.json'))) {
      mkdirSync(cache, { recursive: true });
      await build(root, files, dir);
      pruneOthers(cache, dir);
    }
    return pathToFileURL(join(dir, module.replace(/\.ts$/, '.js'))).href;
  } catch {
    return null;
  }
}
