// Runs the escape battery under Node's built-in node:wasi. node:wasi follows
// symlinks out of its preopen, so escapes are EXPECTED here: this is how we know
// the battery finds them. The same runEscapeBattery() runs it under wtm.
//
//   node tests/guests/run-node-wasi-escape.mjs [--verbose] [--keep]
import { runEscapeBattery } from './escape-scenario.mjs';
import { runUnderNodeWasi } from './node-wasi-runner.mjs';

const verbose = process.argv.includes('--verbose');
const keep = process.argv.includes('--keep');

const nodeWasi = ({ wasm, args, env, root }) => runUnderNodeWasi(wasm, { args, env, preopens: { '/': root } });

const r = await runEscapeBattery(nodeWasi, { keep });
if (verbose) process.stdout.write(r.stdout);
else for (const l of r.escapeLines) console.log(l);
for (const c of r.hostChanges) console.log(`host change: ${c}`);
if (r.stderr) process.stderr.write(r.stderr);
if (keep) console.log(`kept: ${r.root}`);
console.log(`node:wasi: attempts=${r.attempts} escapes=${r.escapes} host-changes=${r.hostChanges.length}`);
// node:wasi leaks; a battery that finds nothing here is broken.
if (r.attempts === null || r.escapes === 0 || r.hostChanges.length === 0) {
  console.log('the battery found no escape under node:wasi: it is broken');
  process.exitCode = 1;
}
