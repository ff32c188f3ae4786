// `wtm profile`: a replay under V8's CPU profiler, through a real guest (hot.c: a hot named
// function and a cold one), and the pieces on their own: the name-section reader, frame naming,
// the self/total and guest/host sums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Profile } from 'pprof-format';
import { assertOneLineError } from './helpers.js';
import { functionAt, nameWasmFrames, readWasmNames, summarizeProfile, WasmFormatError } from '../dist/views/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-profile-'));
const reg = path.join(home, 'registry');
const hotWasm = path.join(root, 'tests/guests/hot.wasm');

function run(args, opts = {}) {
  return spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 120000, ...opts });
}

const recorded = (() => {
  const r = run(['run', '--registry', reg, hotWasm]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^hot done \d+\n$/);
  return /process ([0-9a-f-]{36})/.exec(r.stderr)[1];
})();

test('wtm profile puts hot_spin on top by self time and writes a valid .cpuprofile and pprof', (t) => {
  const id = recorded;
  const out = path.join(home, 'hot.cpuprofile');
  const pprof = path.join(home, 'hot.pb.gz');
  const r = run(['profile', id, '--registry', reg, '--out', out, '--pprof', pprof, '--top', '5', '-o', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.process, id);
  assert.equal(j.cpuprofile, out);
  assert.equal(j.profile.top[0].name, 'hot_spin');
  assert.equal(j.profile.top[0].kind, 'wasm');
  assert.ok(j.profile.top[0].selfPercent > 50, `hot_spin self ${j.profile.top[0].selfPercent}%`);
  assert.ok(j.profile.top.length <= 5);
  assert.ok(j.profile.time.wasm > j.profile.time.host);
  assert.ok(j.run.calls > 0);
  assert.ok(j.run.hostByCall.some((c) => c.call === 'fd_write' && c.count === 1));
  t.diagnostic(`profiled replay ${j.profile.wallMs} ms (sampled ${j.profile.sampledMs} ms, hot_spin ${j.profile.top[0].selfMs} ms); ` +
    `original run ${j.run.wallMs} ms (first to last call ${j.run.callSpanMs} ms)`);

  const cpu = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.ok(Array.isArray(cpu.nodes) && Array.isArray(cpu.samples) && Array.isArray(cpu.timeDeltas));
  assert.equal(cpu.samples.length, cpu.timeDeltas.length);
  assert.ok(cpu.samples.length > 10);
  assert.ok(cpu.endTime > cpu.startTime);
  const names = new Set(cpu.nodes.map((n) => n.callFrame.functionName));
  assert.ok(names.has('hot_spin') && names.has('main'), [...names].join(' '));
  const hot = cpu.nodes.find((n) => n.callFrame.functionName === 'hot_spin');
  assert.match(hot.callFrame.url, /^wasm:\/\//);

  const p = Profile.decode(zlib.gunzipSync(fs.readFileSync(pprof)));
  const strings = p.stringTable.strings;
  assert.deepEqual(p.sampleType.map((s) => [strings[Number(s.type)], strings[Number(s.unit)]]), [['samples', 'count'], ['cpu', 'nanoseconds']]);
  assert.ok(p.sample.length > 0);
  const hotFn = p.function.find((f) => strings[Number(f.name)] === 'hot_spin');
  assert.ok(hotFn, 'pprof names hot_spin');
  // The samples whose leaf is hot_spin hold most of the CPU time.
  const leafFn = (s) => p.location.find((l) => l.id === s.locationId[0]).line[0].functionId;
  const total = p.sample.reduce((a, s) => a + Number(s.value[1]), 0);
  const inHot = p.sample.filter((s) => leafFn(s) === hotFn.id).reduce((a, s) => a + Number(s.value[1]), 0);
  assert.ok(inHot / total > 0.5, `hot_spin ${inHot} of ${total} ns`);
});

test('wtm profile text output: top functions, wall times, host time; default file in the cwd', () => {
  const cwd = fs.mkdtempSync(path.join(home, 'cwd-'));
  const r = run(['profile', recorded.slice(0, 8), '--registry', reg, '--top', '3'], { cwd });
  assert.equal(r.status, 0, r.stderr);
  const file = path.join(cwd, `${recorded}.cpuprofile`);
  assert.ok(fs.existsSync(file));
  assert.ok(r.stdout.includes(`Written:   ${fs.realpathSync(cwd)}/${recorded}.cpuprofile`) || r.stdout.includes(`Written:   ${cwd}/${recorded}.cpuprofile`), r.stdout);
  assert.match(r.stdout, /^Wall time: .* profiled replay .* original run [\d.]+m?s/m);
  assert.match(r.stdout, /^Time: +guest \(wasm\) [\d.]+m?s [\d.]+%, host calls/m);
  const table = r.stdout.split('\n').filter((l) => /^SELF/.test(l) || /^\d/.test(l));
  assert.match(table[0], /^SELF +SELF% +TOTAL +TOTAL% +FUNCTION$/);
  assert.match(table[1], /^[\d.]+ms +[\d.]+% +[\d.]+ms +[\d.]+% +hot_spin$/);
  assert.equal(table.length, 4);
  assert.match(r.stdout, /^Host time in the original run \(recorded\): \d+ calls, .*fd_write 1×/m);
  assert.match(r.stdout, /^Host time while profiled \(replaying\): /m);
});

test('wtm profile of a killed run covers what its log holds', () => {
  const r = run(['run', '--registry', reg, '--timeout', '600ms', path.join(root, 'tests/guests/ticker.wasm'), '2']);
  assert.equal(r.status, 124, r.stderr);
  const id = /process ([0-9a-f-]{36})/.exec(r.stderr)[1];
  const p = run(['profile', id, '--registry', reg, '--out', path.join(home, 'killed.cpuprofile'), '-o', 'json']);
  assert.equal(p.status, 0, p.stderr);
  const j = JSON.parse(p.stdout);
  assert.match(j.partial, /the log ends \(the run was killed\)/);
  assert.equal(j.exitCode, undefined);
  assert.ok(j.run.calls > 10);
  assert.ok(fs.statSync(path.join(home, 'killed.cpuprofile')).size > 0);
  const text = run(['profile', id, '--registry', reg, '--out', path.join(home, 'killed2.cpuprofile')]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^Note: the replay stopped where the log ends \(the run was killed\)/m);
});

test('wtm profile: bad input is one line and a non-zero exit', () => {
  assertOneLineError(run(['profile', '--registry', reg]), 2, /needs one process ID/);
  assertOneLineError(run(['profile', 'ffffffff', '--registry', reg]), 1, /ffffffff/);
  assertOneLineError(run(['profile', recorded, '--registry', reg, '--top', 'x']), 2, /--top x/);
  assertOneLineError(run(['profile', recorded, '--registry', reg, '--interval', '0']), 2, /--interval 0/);
  assertOneLineError(run(['profile', recorded, '--registry', reg, '-o', 'yaml']), 2, /-o yaml/);
  assertOneLineError(run(['profile', recorded, '--registry', reg, '--out', path.join(home, 'no/such/dir/x.cpuprofile')]), 1, /cannot write .*ENOENT/);
  assert.match(run(['profile', '--help']).stdout, /--pprof FILE/);
  assert.match(run(['--help']).stdout, /profile ID/);
});

// ---- the name section, by hand and from a real module -------------------------------------

const uleb = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const str = (s) => [...uleb(Buffer.byteLength(s)), ...Buffer.from(s)];
const section = (id, body) => [id, ...uleb(body.length), ...body];

/** A module importing one function and a memory, defining two, named by a name section (or not). */
function tinyModule(withNames) {
  const type = section(1, [1, 0x60, 0, 0]);
  const imports = section(2, [2, ...str('env'), ...str('f'), 0, 0, ...str('env'), ...str('mem'), 2, 1, 1, 2]);
  const funcs = section(3, [2, 0, 0]);
  const body = [2, 0, 0x0b]; // size 2: no locals, end
  const code = section(10, [2, ...body, ...body]);
  const names = section(0, [...str('name'),
    ...[0, ...uleb(str('tiny').length), ...str('tiny')],
    ...(() => { const v = [2, 1, ...str('alpha'), 2, ...str('beta')]; return [1, ...uleb(v.length), ...v]; })(),
  ]);
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...imports, ...funcs, ...code, ...(withNames ? names : [])]);
}

test('readWasmNames reads function names, imports and code offsets', () => {
  const bytes = tinyModule(true);
  assert.ok(WebAssembly.validate(bytes), 'the hand-made module is valid wasm');
  const n = readWasmNames(bytes);
  assert.equal(n.module, 'tiny');
  assert.equal(n.importedFunctions, 1);
  assert.deepEqual([...n.functions], [[1, 'alpha'], [2, 'beta']]);
  assert.deepEqual(n.bodies.map((b) => b.index), [1, 2]);
  assert.equal(functionAt(n, n.bodies[1].start), 2);
  assert.equal(functionAt(n, n.bodies[0].end - 1), 1);
  assert.equal(functionAt(n, 0), undefined);

  const bare = readWasmNames(tinyModule(false));
  assert.equal(bare.functions.size, 0);
  assert.equal(bare.module, undefined);
  assert.throws(() => readWasmNames(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), WasmFormatError);
  assert.throws(() => readWasmNames(bytes.subarray(0, bytes.length - 8)), WasmFormatError);

  // The C guest: hot_spin is named, and its body is where V8 says the function is.
  const hot = readWasmNames(fs.readFileSync(hotWasm));
  const idx = [...hot.functions].find(([, name]) => name === 'hot_spin')[0];
  assert.ok(idx >= hot.importedFunctions);
  assert.equal(functionAt(hot, hot.bodies.find((b) => b.index === idx).start), idx);
});

/** A profile: root -> wasm main -> (wasm hot | js fd_write import -> native), with samples 1 ms apart. */
function syntheticProfile(hotName, hotColumn) {
  const frame = (functionName, url = '', columnNumber = -1) => ({ functionName, scriptId: '1', url, lineNumber: url.startsWith('wasm') ? 0 : 10, columnNumber });
  const nodes = [
    { id: 1, callFrame: frame('(root)'), children: [2, 6] },
    { id: 2, callFrame: frame('main', 'wasm://wasm/abc', 5), children: [3, 4] },
    { id: 3, callFrame: frame(hotName, 'wasm://wasm/abc', hotColumn) },
    { id: 4, callFrame: frame('wasm-to-js:ii:i-fd_write', 'wasm://wasm/abc', 0), children: [7] },
    { id: 7, callFrame: frame('fd_write', 'file:///wtm/worker.mjs'), children: [5] },
    { id: 5, callFrame: frame('writeSync') },
    { id: 6, callFrame: frame('(garbage collector)') },
  ];
  // 5 samples in hot, 3 in the call to the host (the wrapper, the import, the native below), 1 in main, 1 GC.
  const samples = [3, 3, 3, 4, 3, 7, 5, 2, 6, 3];
  return { nodes, startTime: 0, endTime: 10000, samples, timeDeltas: samples.map((_, i) => (i === 0 ? 0 : 1000)) };
}

test('nameWasmFrames names frames V8 left unnamed, by index or by code offset', () => {
  const names = readWasmNames(tinyModule(true));
  for (const [fn, col] of [['$func2', 0], ['wasm-function[2]', 0], ['', names.bodies[1].start + 1]]) {
    const p = syntheticProfile(fn, col);
    assert.equal(nameWasmFrames(p, names), 1);
    assert.equal(p.nodes[2].callFrame.functionName, 'beta');
    assert.equal(p.nodes[1].callFrame.functionName, 'main', 'a named frame is kept');
    assert.equal(p.nodes[3].callFrame.functionName, 'wasm-to-js:ii:i-fd_write', 'V8 wrappers are left alone');
    assert.equal(p.nodes[4].callFrame.functionName, 'fd_write', 'JavaScript frames are left alone');
  }
  const p = syntheticProfile('$func9', 0);
  assert.equal(nameWasmFrames(p, names), 0);
  assert.equal(p.nodes[2].callFrame.functionName, 'wasm-function[9]');
});

test('summarizeProfile: self and total time, guest vs host vs GC, host time by import', () => {
  const s = summarizeProfile(syntheticProfile('hot', 7), 10);
  assert.equal(s.wallMs, 10);
  assert.equal(s.sampledMs, 10);
  assert.equal(s.samples, 10);
  const by = Object.fromEntries(s.top.map((f) => [f.name, f]));
  assert.equal(s.top[0].name, 'hot');
  assert.deepEqual([by.hot.selfMs, by.hot.totalMs, by.hot.selfPercent], [5, 5, 50]);
  assert.deepEqual([by.main.selfMs, by.main.totalMs, by.main.totalPercent], [1, 9, 90]);
  assert.deepEqual([by.fd_write.selfMs, by.fd_write.totalMs, by.fd_write.kind, by.fd_write.location], [1, 2, 'js', 'file:///wtm/worker.mjs:11']);
  assert.equal(by.writeSync.kind, 'native');
  const wrapper = by['wasm-to-js:ii:i-fd_write'];
  assert.deepEqual([wrapper.selfMs, wrapper.totalMs, wrapper.kind], [1, 3, 'native'], 'a wrapper is host time, not the guest');
  assert.deepEqual(s.time, { wasm: 6, host: 3, gc: 1, other: 0 });
  assert.deepEqual(s.hostByImport, [{ name: 'fd_write', ms: 2, samples: 2 }, { name: 'wasm-to-js:ii:i-fd_write', ms: 1, samples: 1 }]);
  assert.equal(summarizeProfile(syntheticProfile('hot', 7), 2).top.length, 2);
});
