import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds `module` from source with `native/build.sh` into a fresh directory and loads it; null
 * where there is no C compiler (the committed build is then what runs, and its own tests cover it).
 */
export function buildNativeModule<T>(module: 'aead' | 'udpbatch'): T | null {
  const out = join(mkdtempSync(join(tmpdir(), `bering-${module}-`)), `${module}.node`);
  try {
    execFileSync(fileURLToPath(new URL('../../native/build.sh', import.meta.url)), [module, out], { stdio: 'pipe' });
  } catch {
    return null;
  }
  return createRequire(import.meta.url)(out) as T;
}
