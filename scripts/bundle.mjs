#!/usr/bin/env node
// Bundles the CLI and the process worker into one file each (dist/bundle/). Starting wtm loads
// ~40 ES modules twice (main thread and worker); one file each halves the start-up time of
// `wtm run` (see docs/RATIONALE.md). The library (dist/index.js) stays unbundled.
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning', legalComments: 'none' };
await build({ ...common, entryPoints: { cli: 'dist/cli/main.js', worker: 'dist/runtime/worker.js' }, outdir: 'dist/bundle', outExtension: { '.js': '.mjs' } });
