// Shared by bench/run.mjs and bench/count-syscalls.mjs: where things are, and how each
// runtime is started on the benchmark guest.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export let wtmBin = path.join(repo, 'bin', 'wtm.js');
/** Benchmarks another build of wtm (e.g. a copy of the tree before a change). */
export function useWtm(file) {
  wtmBin = path.resolve(file);
  wtmFlags = null;
}
export const nodeWasiRunner = path.join(repo, 'bench', 'node-wasi-run.mjs');
export const guest = path.join(repo, 'tests', 'guests', 'bench_syscalls.wasm');
export const hello = path.join(repo, 'examples', 'hello.wasm');
export const guestDir = '/bench';

export const fdModes = ['write', 'read', 'seek', 'clock'];
export const pathModes = ['stat', 'open', 'readdir'];
export const allModes = [...fdModes, ...pathModes, 'mixed'];

// Ctrl-C reaches the running child too; the 'exit' handlers below then remove the temporary
// directories (the bench runs synchronously, so a signal to this process alone waits for the end).
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));

/** A fresh temporary directory; removed when the process exits. */
export function makeTmpDir(prefix = 'wtm-bench-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * `wtm run` records every run into its registry unless told `--no-record`. The bench
 * measures the runtime without recording (node:wasi records nothing) unless `record` is
 * set, and always points WTM_HOME at a temporary registry so ~/.wtm is left alone.
 */
let wtmFlags = null;
export function wtmRunFlags({ record = false } = {}) {
  if (wtmFlags === null) {
    const help = spawnSync(process.execPath, [wtmBin, 'run', '--help'], { encoding: 'utf8' }).stdout ?? '';
    wtmFlags = { canSkipRecording: help.includes('--no-record') };
  }
  return !record && wtmFlags.canSkipRecording ? ['--no-record'] : [];
}

let registry = null;
/** The environment for wtm children: WTM_HOME is a fresh directory, removed at exit. */
export function wtmEnv() {
  registry ??= makeTmpDir('wtm-bench-registry-');
  return { ...process.env, WTM_HOME: registry };
}

/** The argv (after `node`) that runs the bench guest under each runtime. */
export const runtimes = {
  wtm: (tmp, mode, n, opts) => [wtmBin, 'run', ...wtmRunFlags(opts), '--no-host', '--dir', `${tmp}:${guestDir}`, guest, mode, String(n), guestDir],
  'node:wasi': (tmp, mode, n) => ['--no-warnings', nodeWasiRunner, '--dir', `${tmp}:${guestDir}`, guest, mode, String(n), guestDir],
};

/** The argv that runs examples/hello.wasm the way a user would. */
export const helloCommands = {
  wtm: (opts) => [wtmBin, 'run', ...wtmRunFlags(opts), hello],
  'node:wasi': () => ['--no-warnings', nodeWasiRunner, hello],
};

/** Checks that the build output and the guests exist, with one line saying what to do. */
export function checkPrerequisites() {
  if (!existsSync(path.join(path.dirname(wtmBin), '..', 'dist', 'cli', 'main.js'))) fail('dist/ is missing: run `npx tsc -p .` (or `npm run build`) first');
  if (!existsSync(guest)) fail(`${path.relative(repo, guest)} is missing: run \`npm run build:guests\``);
}

export function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(1);
}

/** Runs `node ARGV` (or another program), checks its exit and output, returns wall seconds. */
export function timed(argv, { expect, program = process.execPath, env = wtmEnv() } = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(program, argv, { encoding: 'utf8', maxBuffer: 16 << 20, env });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error) fail(`${program} ${argv.join(' ')}: ${r.error.message}`);
  if (r.signal === 'SIGINT' || r.signal === 'SIGTERM') process.exit(130); // Ctrl-C: stop quietly
  if (r.status !== 0 || (expect !== undefined && !r.stdout.includes(expect))) {
    fail(`${[program, ...argv].join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}${r.stderr}`);
  }
  return seconds;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function geomean(xs) {
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}
