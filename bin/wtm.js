#!/usr/bin/env node
// The bundled CLI starts faster; the plain build is the fallback (e.g. right after `tsc`).
import fs from 'node:fs';

const argv = process.argv.slice(2);
const bundled = new URL('../dist/bundle/cli.mjs', import.meta.url);
const isBundled = fs.existsSync(bundled);
if (isBundled) {
  // A recorded run needs a worker thread: started first, its start overlaps loading the CLI
  // (src/runtime/prestart.ts).
  const prestart = await import('../dist/runtime/prestart.js');
  if (prestart.wantsWorker(argv)) prestart.prestartWorker(new URL('../dist/bundle/worker.cjs', import.meta.url));
}
const { main } = await import(isBundled ? bundled.href : '../dist/cli/main.js');
process.exitCode = await main(argv);
