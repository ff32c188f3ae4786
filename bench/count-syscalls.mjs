#!/usr/bin/env node
// Host syscalls per guest call: runs bench modes under `strace -f -c` with N iterations and
// with 0, for wtm and for node:wasi, and reports (calls(N) - calls(0)) / N by syscall name.
//
//   node bench/count-syscalls.mjs [--modes stat,open,readdir] [--n 20000] [--json] [--record]
//   (also: node bench/run.mjs --syscalls ...)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { allModes, checkPrerequisites, fail, makeTmpDir, runtimes, useWtm, wtmEnv } from './common.mjs';

const { values: opt } = parseArgs({
  options: {
    modes: { type: 'string', default: 'stat,open,readdir' },
    n: { type: 'string', default: '20000' },
    json: { type: 'boolean', default: false },
    syscalls: { type: 'boolean', default: false }, // when started through run.mjs --syscalls
    quick: { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
    wtm: { type: 'string' },
  },
  strict: false,
});

// Calls that touch the file system (or file descriptors); the rest is threads, memory, timers.
const fsCalls = new Set([
  'statx', 'newfstatat', 'fstat', 'lstat', 'stat', 'fstatat64', 'openat', 'openat2', 'open', 'close',
  'readlink', 'readlinkat', 'getdents64', 'lseek', 'read', 'write', 'pread64', 'pwrite64', 'readv',
  'writev', 'preadv', 'pwritev', 'fcntl', 'ioctl', 'access', 'faccessat', 'faccessat2', 'mkdir',
  'mkdirat', 'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2', 'utimensat', 'fstatfs',
  'statfs', 'getcwd', 'fsync', 'fdatasync', 'ftruncate', 'symlinkat', 'linkat', 'dup', 'dup3',
]);

const probe = spawnSync('strace', ['-V'], { encoding: 'utf8' });
if (probe.error) {
  process.stdout.write('count-syscalls: strace is not installed; skipping.\n'
    + '  Install it with: apt-get install -y strace   (Debian package)\n');
  process.exit(0);
}
if (opt.wtm) useWtm(opt.wtm);
checkPrerequisites();
const n = Number(opt.n);
if (!(n > 0)) fail('--n needs a positive number');
const modes = opt.modes.split(',');
for (const m of modes) if (!allModes.includes(m)) fail(`unknown mode ${m} (modes: ${allModes.join(', ')})`);
const tmp = makeTmpDir();
const outDir = makeTmpDir('wtm-strace-');
const names = Object.keys(runtimes);

/** Runs one guest under strace -f -c; returns Map(syscall -> {calls, errors}). */
function count(rt, mode, iterations) {
  const file = path.join(outDir, `${rt.replace(':', '_')}-${mode}-${iterations}.txt`);
  const argv = ['-f', '-c', '-o', file, process.execPath, ...runtimes[rt](tmp, mode, iterations, { record: opt.record })];
  const r = spawnSync('strace', argv, { encoding: 'utf8', maxBuffer: 16 << 20, env: wtmEnv() });
  if (r.status !== 0 || !r.stdout.includes(`done ${mode} ${iterations}`)) {
    fail(`strace ${argv.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}${r.stderr}`);
  }
  const table = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim().split(/\s+/);
    if (t.length < 5 || !/^\d/.test(t[0]) || t[t.length - 1] === 'total') continue;
    const name = t[t.length - 1];
    table.set(name, { calls: Number(t[3]), errors: t.length >= 6 ? Number(t[4]) : 0 });
  }
  return table;
}

const results = {};
for (const mode of modes) {
  results[mode] = {};
  for (const rt of names) {
    process.stderr.write(`count-syscalls: ${mode} under ${rt}\n`);
    const full = count(rt, mode, n);
    const zero = count(rt, mode, 0);
    const per = {};
    for (const name of new Set([...full.keys(), ...zero.keys()])) {
      const a = full.get(name) ?? { calls: 0, errors: 0 };
      const b = zero.get(name) ?? { calls: 0, errors: 0 };
      per[name] = { calls: (a.calls - b.calls) / n, errors: (a.errors - b.errors) / n };
    }
    results[mode][rt] = per;
  }
}

if (opt.json) {
  process.stdout.write(JSON.stringify({ n, modes: results }, null, 2) + '\n');
  process.exit(0);
}

const f = (x) => x.toFixed(2);
const lines = [`host syscalls per guest call: (calls(N) - calls(0)) / N, N=${n}, strace -f -c`];
const summary = [];
for (const mode of modes) {
  const per = results[mode];
  const shown = [...new Set(names.flatMap((rt) => Object.keys(per[rt])))]
    .filter((s) => fsCalls.has(s) && names.some((rt) => Math.abs(per[rt][s]?.calls ?? 0) >= 0.01))
    .sort((a, b) => Math.max(...names.map((rt) => per[rt][b]?.calls ?? 0)) - Math.max(...names.map((rt) => per[rt][a]?.calls ?? 0)));
  lines.push('', `${mode}`, `  ${'syscall'.padEnd(14)}${names.map((rt) => rt.padStart(22)).join('')}`);
  const cell = (v) => (v ? `${f(v.calls)}${v.errors >= 0.01 ? ` (${f(v.errors)} fail)` : ''}` : '0.00');
  for (const s of shown) lines.push(`  ${s.padEnd(14)}${names.map((rt) => cell(per[rt][s]).padStart(22)).join('')}`);
  const sum = (rt, pred) => Object.entries(per[rt]).filter(([s]) => pred(s)).reduce((a, [, v]) => a + v.calls, 0);
  const fsTotal = Object.fromEntries(names.map((rt) => [rt, sum(rt, (s) => fsCalls.has(s))]));
  lines.push(`  ${'fs total'.padEnd(14)}${names.map((rt) => f(fsTotal[rt]).padStart(22)).join('')}`);
  lines.push(`  ${'other'.padEnd(14)}${names.map((rt) => f(sum(rt, (s) => !fsCalls.has(s))).padStart(22)).join('')}   (threads, memory: noise)`);
  const what = mode === 'open' ? 'open+close' : mode;
  summary.push(`one guest ${what} costs ${f(fsTotal.wtm)} host fs calls under wtm, ${f(fsTotal['node:wasi'])} under node:wasi`);
}
lines.push('', ...summary);
process.stdout.write(lines.join('\n') + '\n');
