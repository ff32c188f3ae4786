#!/usr/bin/env node
// `npm ci` / `npm install` in a checkout builds wtm (TypeScript to dist/, then the bundles).
// Installed from a package tarball there is no src/ to build and dist/ is shipped: nothing to do.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

if (!fs.existsSync('src') || !fs.existsSync('tsconfig.json')) process.exit(0);
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const bundle = spawnSync(process.execPath, ['scripts/bundle.mjs'], { stdio: 'inherit' });
process.exit(bundle.status ?? 1);
