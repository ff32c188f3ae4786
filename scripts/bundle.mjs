#!/usr/bin/env node
// Bundles the CLI and the process worker into one file each (dist/bundle/). Starting wtm loads
// ~40 ES modules twice (main thread and worker); one file each halves the start-up time of
// `wtm run` (see docs/RATIONALE.md). The library (dist/index.js) stays unbundled.
import fs from 'node:fs';
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning', legalComments: 'none' };
await build({ ...common, entryPoints: { cli: 'dist/cli/main.js' }, outdir: 'dist/bundle', outExtension: { '.js': '.mjs' } });
// The worker as CommonJS: a worker thread sets up Node's ES module loader for an ES module
// entry, ~15 ms of CPU at every worker start (bench: a trivial worker, ESM 87 ms, CJS 72 ms).
// import.meta.url is the file's URL, as in the ES module.
await build({
  ...common,
  format: 'cjs',
  entryPoints: { worker: 'dist/runtime/worker.js' },
  outdir: 'dist/bundle',
  outExtension: { '.js': '.cjs' },
  define: { 'import.meta.url': '__wtmModuleUrl' },
  banner: { js: '"use strict";\nconst __wtmModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
});
fs.rmSync('dist/bundle/worker.mjs', { force: true }); // from an older build

// Every start decodes the bundles from UTF-8: one non-ASCII character (esbuild escapes them in
// strings, not in template literals or the comments it keeps) makes the whole source a
// two-byte string, slower to decode and to parse (~3% of a start). Write \u escapes instead.
for (const name of ['cli.mjs', 'worker.cjs']) {
  const text = fs.readFileSync(`dist/bundle/${name}`, 'utf8');
  let at = 0;
  while (at < text.length && text.charCodeAt(at) < 0x80) at++;
  if (at < text.length) {
    const line = text.slice(0, at).split('\n').length;
    console.error(`bundle: dist/bundle/${name} line ${line} has a non-ASCII character (${JSON.stringify(text[at])}); write it as a \\u escape in the source`);
    process.exit(1);
  }
}
