// Every registry command over a registry on NATS JetStream (--registry nats://...), against a
// real nats-server started here (tests/nats-server.js).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { natsMissing, startNats } from './nats-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtmBin = path.join(root, 'bin/wtm.js');
const hello = path.join(root, 'examples/hello.wasm');
const tmp = (p) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${p}-`));

describe('wtm commands on a nats:// registry', { skip: natsMissing }, () => {
  let server;
  let home;
  const wtm = (args, env = {}) => spawnSync(process.execPath, [wtmBin, ...args], { encoding: 'utf8', env: { ...process.env, WTM_HOME: home, ...env }, timeout: 60_000 });
  const ok = (args, env) => {
    const r = wtm(args, env);
    assert.equal(r.status, 0, `wtm ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  before(async () => {
    server = await startNats();
    home = tmp('home');
  });
  after(async () => {
    await server?.stop();
  });

  it('run, get processes, logs, describe, trace, replay (in other processes), export, rm, import, gc', () => {
    const R = ['--registry', server.url];
    const r = ok(['run', ...R, hello, 'over', 'nats']);
    assert.equal(r.stdout, 'hello from wasm over nats\n');
    const id = /process ([0-9a-f-]{36})/.exec(r.stderr)[1];
    const list = JSON.parse(ok(['get', 'processes', ...R, '-o', 'json']).stdout);
    assert.equal(list.length, 1);
    assert.equal(list[0].id, id);
    assert.equal(list[0].state, 'exited');
    assert.equal(ok(['logs', ...R, id.slice(0, 8)]).stdout, 'hello from wasm over nats\n');
    assert.match(ok(['describe', ...R, id]).stdout, /exited \(exit code 0\)/);
    assert.match(ok(['trace', ...R, id]).stdout, /fd_write/);
    assert.equal(ok(['replay', ...R, id]).stdout, 'hello from wasm over nats\n');
    // Nothing of the run is on this machine's disk but caches: the local registry is empty.
    assert.deepEqual(JSON.parse(ok(['get', 'processes', '-o', 'json']).stdout), []);
    const file = path.join(tmp('export'), 'p.wtm');
    ok(['export', ...R, id, file]);
    ok(['rm', ...R, id]);
    assert.deepEqual(JSON.parse(ok(['get', 'processes', ...R, '-o', 'json']).stdout), []);
    ok(['import', ...R, file]);
    assert.equal(ok(['replay', ...R, id]).stdout, 'hello from wasm over nats\n');
    // Imported from an export that withheld the host's environment: its config is a new one,
    // the old one is garbage.
    const gc = JSON.parse(ok(['gc', ...R, '--grace', '0', '-o', 'json']).stdout);
    assert.equal(gc.freed.configs.count, 1);
    assert.equal(ok(['replay', ...R, id]).stdout, 'hello from wasm over nats\n');
  });

  it('WTM_REGISTRY and the settings file name a nats:// registry', () => {
    const r = ok(['run', hello, 'by-env'], { WTM_REGISTRY: server.url });
    const id = /process ([0-9a-f-]{36})/.exec(r.stderr)[1];
    const h2 = tmp('home2');
    fs.writeFileSync(path.join(h2, 'config.yaml'), `registry: ${server.url}\n`);
    assert.equal(ok(['logs', id], { WTM_HOME: h2 }).stdout, 'hello from wasm by-env\n');
  });

  it('images: import, ls, run, rm', () => {
    const R = ['--registry', server.url];
    const layout = tmp('layout');
    const mk = spawnSync(process.execPath, [path.join(root, 'examples/make-image.mjs'), layout], { encoding: 'utf8', cwd: root });
    assert.equal(mk.status, 0, mk.stderr);
    ok(['image', 'import', ...R, layout]);
    const ls = JSON.parse(ok(['image', 'ls', ...R, '-o', 'json']).stdout);
    assert.equal(ls.length, 1);
    // Another machine (another home: no unpacked layers, no cache) runs it from the shared registry.
    assert.equal(ok(['run', ...R, 'cat:1'], { WTM_HOME: tmp('machine-b') }).stdout, 'hello from an image\n');
    ok(['image', 'rm', ...R, 'cat:1']);
    assert.deepEqual(JSON.parse(ok(['image', 'ls', ...R, '-o', 'json']).stdout), []);
  });

  it('a bad URL or an unreachable server: one line, non-zero, within seconds', () => {
    for (const [url, pattern] of [['nats://127.0.0.1:1', /cannot reach the NATS server at nats:\/\/127\.0\.0\.1:1: connection refused/], ['nats://h:1/x', /bad NATS URL/]]) {
      const t = Date.now();
      const r = wtm(['get', 'processes', '--registry', url]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(Date.now() - t < 8000);
    }
  });
});
