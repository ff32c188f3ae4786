#!/usr/bin/env node
// Peak memory of the log readers on a big log: records tests/guests/bigout.wasm writing MIB MiB
// (incompressible, so the log is about that big) into a temporary registry, then runs
// `wtm logs`, `describe`, `export`, `import` and `replay` on it under /usr/bin/time -v and
// prints each one's maximum resident set size and wall time.
//
//   node bench/readers.mjs [--mib 300] [--wtm path/to/bin/wtm.js]
//
// Every reader streams the log one batch at a time, so the figures should not grow with MIB
// (compare --mib 30 with --mib 300); before they did (a 315 MB log: logs 366 MB, describe
// 367 MB, export 666 MB, import 357 MB, replay 990 MB).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const mib = Number(flag('--mib', '300'));
const wtm = path.resolve(flag('--wtm', path.join(root, 'bin/wtm.js')));
const time = '/usr/bin/time';
if (!fs.existsSync(time)) {
  console.error('bench/readers.mjs needs GNU time (/usr/bin/time): apt-get install time');
  process.exit(1);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-bench-readers-'));
const home = path.join(work, 'home');
try {
  const rec = spawnSync(process.execPath, [wtm, 'run', '--no-host', path.join(root, 'tests/guests/bigout.wasm'), String(mib)], {
    env: { ...process.env, WTM_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8',
  });
  const id = /wtm: process ([0-9a-f-]{36})/.exec(rec.stderr)?.[1];
  if (!id) throw new Error(`recording failed: ${rec.stderr}`);
  const logBytes = fs.statSync(path.join(home, 'blobs', 'logs', id)).size;
  console.log(`log of ${id}: ${(logBytes / 1e6).toFixed(1)} MB (${wtm})`);
  const file = path.join(work, 'p.wtm');
  const runs = [
    ['logs', ['logs', id], home],
    ['describe', ['describe', id], home],
    ['export', ['export', id, file], home],
    ['import', ['import', file], path.join(work, 'other')],
    ['replay', ['replay', id], home],
  ];
  for (const [name, cmd, reg] of runs) {
    const r = spawnSync(time, ['-v', process.execPath, wtm, ...cmd], {
      env: { ...process.env, WTM_HOME: reg }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26,
    });
    const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
    const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)/.exec(r.stderr)?.[1];
    const exit = /Exit status: (\d+)/.exec(r.stderr)?.[1];
    console.log(`${name.padEnd(9)} max RSS ${(rss / 1024).toFixed(0).padStart(5)} MiB  wall ${wall}  exit ${exit}`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
