#!/usr/bin/env node
// Space: what the leftover sweep and gc cost on a big registry. Builds a registry of N
// processes (default 10,000: N records, N logs, 20 modules), then times
//   - the check every command pays (LocalStore.sweepIfDue when the last sweep is recent),
//   - a whole sweep (what one command in 10 minutes pays, and what every command would pay
//     if it swept each time),
//   - `wtm gc --dry-run` through the CLI.
// usage: node bench/space.mjs [N] [--json]
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from '../dist/index.js';
import { LocalStore, sweepLeftovers } from '../dist/registry/local.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const json = process.argv.includes('--json');
const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 10_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-bench-space-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const reg = await Registry.open(dir);
const mods = [];
for (let i = 0; i < 20; i++) mods.push(await reg.putModule(new TextEncoder().encode(`module ${i}`)));
const cfg = await reg.putConfig({ bench: true });
for (let i = 0; i < n; i++) {
  const id = randomUUID();
  await reg.createProcess({ id, moduleDigest: mods[i % 20], configDigest: cfg, argv: ['x'], state: 'exited' });
  await reg.appendLog(id, new Uint8Array(100));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
async function time(runs, fn) {
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

const store = await LocalStore.open(dir);
await store.sweepIfDue(); // the first one sweeps and marks
const check = await time(200, () => store.sweepIfDue());
const sweep = await time(9, () => sweepLeftovers(dir));
const gc = await time(3, () => {
  const r = spawnSync(process.execPath, [path.join(repo, 'bin/wtm.js'), 'gc', '--dry-run', '--grace', '0', '--registry', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
});
const empty = await time(3, () => spawnSync(process.execPath, [path.join(repo, 'bin/wtm.js'), 'get', 'configs', '--registry', dir]));

const result = { processes: n, checkMs: check, sweepMs: sweep, gcDryRunMs: gc, commandMs: empty, load: os.loadavg()[0] };
if (json) console.log(JSON.stringify(result));
else {
  console.log(`registry of ${n} processes (load average ${result.load.toFixed(1)}), medians:`);
  console.log(`  per-command check (sweep not due)  ${check.toFixed(3)} ms`);
  console.log(`  whole sweep (once per 10 minutes)  ${sweep.toFixed(1)} ms`);
  console.log(`  a small command (wtm get configs)  ${empty.toFixed(0)} ms, for scale`);
  console.log(`  wtm gc --dry-run                   ${gc.toFixed(0)} ms`);
}
