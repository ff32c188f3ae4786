// Runs one guest under Node's built-in node:wasi (uvwasi), in a child process so a
// trap, a proc_exit or a hang cannot take the caller down. Used to sanity-check the
// guests and as the peer the escape battery is compared with; node:wasi is NOT a
// model of correct behaviour (it follows symlinks out of its preopens).
//
//   import { runUnderNodeWasi } from './node-wasi-runner.mjs';
//   const { exitCode, stdout, stderr } = runUnderNodeWasi('x.wasm', { args, env, preopens });
//
// As a script: node node-wasi-runner.mjs '{"wasm":..,"args":[..],"env":{..},"preopens":{..}}'
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

export function runUnderNodeWasi(wasm, { args = [], env = {}, preopens = {}, timeoutMs = 60000 } = {}) {
  const spec = JSON.stringify({ wasm, args, env, preopens });
  const r = spawnSync(process.execPath, ['--no-warnings', self, spec], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
  });
  return { exitCode: r.status ?? -1, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

async function main(spec) {
  const { WASI } = await import('node:wasi');
  const { wasm, args, env, preopens } = JSON.parse(spec);
  const wasi = new WASI({ version: 'preview1', args: [wasm, ...args], env, preopens, returnOnExit: true });
  const module = await WebAssembly.compile(readFileSync(wasm));
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  try {
    process.exitCode = wasi.start(instance);
  } catch (err) {
    process.stderr.write(`trap: ${err?.message}\n`);
    process.exitCode = 134;
  }
}

if (process.argv[1] === self && process.argv[2]) await main(process.argv[2]);
