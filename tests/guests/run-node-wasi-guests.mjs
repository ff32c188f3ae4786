// Runs every self-checking guest under Node's built-in node:wasi with the args,
// env and preopens it expects, and prints each guest's closing line. node:wasi is
// a peer, not a model: its failures here are its own (see README.md).
//
//   node tests/guests/run-node-wasi-guests.mjs [--verbose]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runUnderNodeWasi } from './node-wasi-runner.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const verbose = process.argv.includes('--verbose');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-guests-'));

function readonlyDir() {
  const d = path.join(tmp, 'ro');
  fs.mkdirSync(path.join(d, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(d, 'data.txt'), 'readonly data\n');
  return d; // node:wasi cannot mount read-only: the write checks are expected to fail
}
function workDir(name) {
  const d = path.join(tmp, name);
  fs.mkdirSync(d);
  return d;
}

const guests = [
  ['args_env', { args: ['a', 'b'], env: { FOO: 'bar' } }],
  ['clock_random', { timeoutMs: 10000 }],
  ['fd_ops', { args: ['/work'], preopens: { '/work': workDir('fd_ops') } }],
  ['path_ops', { args: ['/work'], preopens: { '/work': workDir('path_ops') }, timeoutMs: 10000 }],
  ['readonly', { args: ['/ro'], preopens: { '/ro': readonlyDir() } }],
];

try {
  for (const [name, opts] of guests) {
    const r = runUnderNodeWasi(path.join(here, `${name}.wasm`), opts);
    const last = r.stdout.trimEnd().split('\n').pop();
    const ok = (r.stdout.match(/^ok /gm) || []).length;
    const failed = (r.stdout.match(/^not ok /gm) || []).length;
    if (verbose) process.stdout.write(r.stdout);
    else for (const l of r.stdout.split('\n')) if (l.startsWith('not ok ')) console.log(`  ${name}: ${l}`);
    const end = last.startsWith('# guest') ? last : `(no closing line: ${r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`}; ${ok} ok, ${failed} failed so far)`;
    console.log(`${name}: exit ${r.exitCode} ${end}`);
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
