#!/usr/bin/env node
// The bundled CLI starts faster; the plain build is the fallback (e.g. right after `tsc`).
import fs from 'node:fs';

const bundled = new URL('../dist/bundle/cli.mjs', import.meta.url);
const { main } = await import(fs.existsSync(bundled) ? bundled.href : '../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
