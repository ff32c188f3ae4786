#!/usr/bin/env node
// Survey of the disagreements between wtm and the kernel (not a test: the property test stops
// at the first one). Runs many cases, groups each case's first problem by class
// (operation, kernel's answer, wtm's answer), then shrinks one example of every class.
//
//   node tests/property/survey.mjs [--runs N] [--seed S] [--no-shrink] [--class REGEX] [--ignore REGEX]
//
// Needs root and cc, as the property test; run `npm run build` first.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { Runtime } from '../../dist/index.js';
import { buildNative, caseArb, describeCase, firstClass, guestWasm, minimize, problemClass, runCase } from './pathops-harness.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '500' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    'no-shrink': { type: 'boolean', default: false },
    class: { type: 'string' },
    ignore: { type: 'string' },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-survey-'));
const native = buildNative(work);
if (native.skip) {
  console.error(`survey: ${native.skip}`);
  process.exit(2);
}
const runtime = new Runtime({ maxConcurrency: 1 });
const module = await WebAssembly.compile(fs.readFileSync(guestWasm));
// --ignore REGEX: a result problem matching it ends its case quietly (to see past known bugs).
const ctx = { bin: native.bin, runtime, module, ignore: values.ignore ? new RegExp(values.ignore) : null };

const classes = new Map();
const started = Date.now();
let failing = 0;
for (const c of fc.sample(caseArb(), { seed, numRuns: runs })) {
  const problems = (await runCase(c, ctx)).filter((p) => p.kind !== 'note');
  if (problems.length === 0) continue;
  failing++;
  const k = problemClass(c, problems[0]);
  const entry = classes.get(k) ?? { count: 0 };
  entry.count++;
  classes.set(k, entry);
}
console.log(`seed ${seed}: ${runs} cases in ${Date.now() - started} ms, ${failing} disagree, ${classes.size} classes`);
const sorted = [...classes.entries()].sort((a, b) => b[1].count - a[1].count);
for (const [k, e] of sorted) console.log(`${String(e.count).padStart(5)}  ${k}`);

if (!values['no-shrink']) {
  const only = values.class ? new RegExp(values.class) : null;
  for (const [k] of sorted) {
    if (only && !only.test(k)) continue;
    // Fails only when the case's first problem is of class k: fast-check shrinks towards the
    // smallest such case.
    const r = await fc.check(fc.asyncProperty(caseArb(), async (c) => {
      const p = (await runCase(c, ctx)).filter((x) => x.kind !== 'note');
      return p.length === 0 || problemClass(c, p[0]) !== k;
    }), { seed, numRuns: runs });
    console.log(`\n=== ${k}`);
    if (!r.failed) {
      console.log('(not reproduced)');
      continue;
    }
    const want = firstClass(r.counterexample[0], await runCase(r.counterexample[0], ctx));
    const c = await minimize(r.counterexample[0], async (x) => firstClass(x, await runCase(x, ctx)) === want);
    console.log(describeCase(c));
    const p = (await runCase(c, ctx)).filter((x) => x.kind !== 'note');
    for (const x of p) console.log(`problem: ${x.text}`);
    console.log(`(seed ${seed}, path ${r.counterexamplePath})`);
  }
}
await runtime.close();
fs.rmSync(work, { recursive: true, force: true });
