// Runs one WASI module on Node's built-in node:wasi (uvwasi): the peer wtm is compared with.
//
//   node bench/node-wasi-run.mjs [--dir HOST:GUEST]... MODULE [ARGS...]
//
// Kept as small as possible so its startup is only Node's plus compiling the module.
import { WASI } from 'node:wasi';
import { readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const preopens = {};
while (argv[0] === '--dir') {
  const spec = argv[1];
  const colon = spec.lastIndexOf(':');
  preopens[spec.slice(colon + 1)] = spec.slice(0, colon);
  argv.splice(0, 2);
}
const [wasm, ...args] = argv;
const wasi = new WASI({ version: 'preview1', args: [wasm, ...args], env: {}, preopens, returnOnExit: true });
const module = await WebAssembly.compile(readFileSync(wasm));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
