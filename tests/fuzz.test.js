// Fuzzing the guest boundary (tests/guests/fuzz_wasi.c): every wasi_snapshot_preview1 function
// and every `wtm` task call with random pointers, lengths, flags, rights and fds. Every call
// must return a WASI errno (the guest counts those that do not), no host exception may escape
// (one would end the run as a trap, exit 134, naming a JS error), and wtm keeps running: the
// run is recorded as exited, replays, and the next command works. Seeds: fixed ones, and one
// new per run (FUZZ_SEEDS=1,2,3 to choose); a failure names its seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guest = path.join(root, 'tests/guests/fuzz_wasi.wasm');
const tmp = (p) => fs.mkdtempSync(path.join(os.tmpdir(), p));
const wtmIn = (home, args) => spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 90000, env: { ...process.env, WTM_HOME: home } });

const CALLS = 15000;
const MS = 15000;
const seeds = process.env.FUZZ_SEEDS ? process.env.FUZZ_SEEDS.split(',').map(Number) : [1, 7, crypto.randomInt(1, 2 ** 31)];

for (const seed of seeds) {
  test(`fuzz: seed ${seed}: every call returns an errno, no host exception, wtm runs on`, () => {
    const home = tmp('wtm-fuzz-home-');
    const work = tmp('wtm-fuzz-work-');
    const why = `(fuzz seed ${seed}: rerun with FUZZ_SEEDS=${seed})`;
    const r = wtmIn(home, ['run', '--no-host', '--dir', `${work}:/data`, '--timeout', '60s', guest, String(seed), String(CALLS), String(MS)]);
    assert.doesNotMatch(r.stderr, /trap|error:|Error|at .*\.js:\d+/, `a host exception escaped ${why}:\n${r.stderr}`);
    assert.equal(r.status, 0, `${why}\n${r.stderr}`);
    assert.doesNotMatch(r.stdout, /FUZZ bad/, `a call returned something other than an errno ${why}`);
    const m = /^FUZZ seed=(\d+) calls=(\d+) functions=(\d+) bad=(\d+)$/m.exec(r.stdout);
    assert.ok(m, `no summary ${why}:\n${r.stdout}`);
    assert.equal(m[4], '0', why);
    assert.equal(m[3], '49', `every function called ${why}`);
    assert.ok(Number(m[2]) >= 1000, `${m[2]} calls ${why}`);
    console.log(`# fuzz seed ${seed}: ${m[2]} calls of ${m[3]} functions, ${m[4]} bad returns, 0 host exceptions`);
    // Recorded as a normal end, and replayed from its log alone to the same output.
    const id = /^wtm: process (\S+)$/m.exec(r.stderr)[1];
    const d = wtmIn(home, ['describe', id, '-o', 'json']);
    assert.equal(JSON.parse(d.stdout).process.state, 'exited', why);
    const rp = wtmIn(home, ['replay', id]);
    assert.equal(rp.status, 0, `${why}\n${rp.stderr}`);
    assert.equal(rp.stdout, r.stdout, why);
    // wtm itself is fine: the next run works.
    const next = wtmIn(home, ['run', '--no-record', path.join(root, 'examples/hello.wasm')]);
    assert.equal(next.status, 0, why);
  });
}
