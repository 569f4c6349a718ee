// A worker thread of `bering relay --workers N`: loads its module (workerData.module, a path
// under the repository) the way bin/bering loads the command line, from the compiled build or,
// where that cannot be, through tsx.
import { workerData } from 'node:worker_threads';
import { compiledModule } from './compiled.mjs';

const compiled = await compiledModule(workerData.module);
let loaded = false;
if (compiled !== null) {
  try {
    await import(compiled);
    loaded = true;
  } catch (err) {
    if (process.env.LOG_LEVEL === 'debug') process.stderr.write(`bering worker: compiled build failed to load: ${err}\n`);
  }
}
if (!loaded) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL(`../${workerData.module}`, import.meta.url).href);
}
