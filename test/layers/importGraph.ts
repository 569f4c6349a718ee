/**
 * The source tree's import graph, read with the TypeScript parser: every static import, re-export
 * and `import()` of every file under src/ and bench/, resolved to files, plus what the protocol
 * core must not touch (clocks, timers, sockets, ambient randomness) found in the syntax tree.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export const ROOT = resolve(new URL('../../', import.meta.url).pathname);

/** One file's imports: repo-relative paths for local files, the bare name for packages. */
export interface SourceFile {
  path: string;
  imports: string[];
  /** Clock reads, timers and ambient randomness used in it, as written (`Date.now`, `setTimeout`). */
  ambient: string[];
}

const AMBIENT_GLOBALS = new Set(['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'clearTimeout', 'clearInterval', 'performance']);
const AMBIENT_MEMBERS = new Set(['Date.now', 'Math.random', 'globalThis.crypto', 'globalThis.performance', 'process.hrtime', 'process.nextTick', 'crypto.getRandomValues']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Parses `path` (absolute) and lists what it imports and which ambient clocks or timers it uses. */
export function readSourceFile(path: string, text = readFileSync(path, 'utf8')): SourceFile {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true);
  const imports: string[] = [];
  const ambient: string[] = [];
  const addImport = (spec: string): void => {
    imports.push(spec.startsWith('.') ? relative(ROOT, resolve(dirname(path), spec)) : spec.replace(/^node:/, ''));
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      addImport(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0])) {
      addImport(node.arguments[0].text);
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Date') {
      ambient.push('new Date()');
    } else if (ts.isPropertyAccessExpression(node) && AMBIENT_MEMBERS.has(`${node.expression.getText(source)}.${node.name.text}`)) {
      ambient.push(`${node.expression.getText(source)}.${node.name.text}`);
    } else if (ts.isIdentifier(node) && AMBIENT_GLOBALS.has(node.text) && isValueUse(node)) {
      ambient.push(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { path: relative(ROOT, path), imports, ambient };
}

/** An identifier read as a value: not a member name (`x.setTimeout`), a key or a declared name. */
function isValueUse(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) || ts.isMethodDeclaration(parent) || ts.isPropertyDeclaration(parent)) && parent.name === node) return false;
  if ((ts.isVariableDeclaration(parent) || ts.isParameter(parent) || ts.isFunctionDeclaration(parent)) && parent.name === node) return false;
  return true;
}

/** Every .ts file under the given repo-relative folders, parsed. */
export function readTree(folders: readonly string[]): SourceFile[] {
  return folders.flatMap((f) => tsFiles(join(ROOT, f))).map((p) => readSourceFile(p));
}

/** The layer a repo-relative path belongs to: its folder under src/ (`session`), or `bench`; null outside. */
export function layerOf(path: string): string | null {
  const parts = path.split('/');
  if (parts[0] === 'src' && parts.length > 2) return parts[1];
  if (parts[0] === 'bench') return 'bench';
  return null;
}

/** The cycles of a directed graph (each as the path that closes it), found by depth-first search. */
export function cycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const walk = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) walk(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) walk(node);
  return found;
}
