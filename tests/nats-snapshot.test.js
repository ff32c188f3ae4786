// Directory snapshots (wtm snapshot DIR): mounted by tasks read-only or writable, in process
// and through a queue on NATS JetStream to a `wtm worker`; their containment.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson, materializeSnapshot, NatsStore, NatsTaskQueue, readSnapshot, Registry, Runtime, sha256Hex } from '../dist/internal.js';
import { natsMissing, startNats } from './nats-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtmBin = path.join(root, 'bin/wtm.js');
const editWasm = path.join(root, 'tests/guests/edit.wasm');
const tmp = (p) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${p}-`));
const dec = (b) => new TextDecoder().decode(b);

/** A directory to snapshot: a.txt, sub/b.txt, a link climbing out, one that stays inside. */
function sampleDir() {
  const d = tmp('snapdir');
  fs.writeFileSync(path.join(d, 'a.txt'), 'alpha');
  fs.mkdirSync(path.join(d, 'sub'));
  fs.writeFileSync(path.join(d, 'sub/b.txt'), 'beta');
  fs.writeFileSync(path.join(d, 'sub/same.txt'), 'alpha');
  fs.symlinkSync('../../../../../../../etc', path.join(d, 'escape'));
  fs.symlinkSync('sub/b.txt', path.join(d, 'inside'));
  return d;
}

describe('snapshots, in process', () => {
  let home;
  let reg;
  let rt;
  before(async () => {
    home = tmp('snaphome');
    reg = await Registry.open(home);
    rt = new Runtime({ registry: reg, maxConcurrency: 2 });
  });
  after(async () => {
    await rt.close();
  });

  it('wtm snapshot stores a tree once per content; links are kept, not followed', async () => {
    const r = spawnSync(process.execPath, [wtmBin, 'snapshot', sampleDir(), '--registry', home], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.match(r.stderr, /3 files \(14 bytes, 2 new to the registry\), 1 directories, 2 links/);
    const { manifest } = await readSnapshot(reg, id);
    assert.deepEqual(manifest.entries.map((e) => `${e.type}:${e.path}`), ['file:a.txt', 'symlink:escape', 'symlink:inside', 'dir:sub', 'file:sub/b.txt', 'file:sub/same.txt']);
    assert.equal(manifest.entries.find((e) => e.path === 'escape').target, '../../../../../../../etc');
  });

  it('a task mounts one read-only, or writable with its changes coming back as a snapshot', async () => {
    const id = spawnSync(process.execPath, [wtmBin, 'snapshot', sampleDir(), '--registry', home], { encoding: 'utf8' }).stdout.trim();
    const ro = await rt.spawn({ module: editWasm, args: ['/data/inside', 'changed'], snapshots: [{ snapshot: id, guest: '/data' }] }).wait();
    assert.match(dec(ro.stdout), /old \/data\/inside: beta\ncannot write/, 'read-only; a link inside the snapshot is followed inside it');
    assert.equal(ro.changes, undefined);
    const rw = await rt.spawn({ module: editWasm, args: ['/data/a.txt', 'changed', '/data/escape/passwd'], snapshots: [{ snapshot: id, guest: '/data', writable: true }] }).wait();
    assert.equal(rw.state, 'success', rw.error);
    assert.match(dec(rw.stdout), /old \/data\/a.txt: alpha/);
    assert.match(dec(rw.stdout), /\/data\/escape\/passwd: missing/, 'a link climbing out stays in the guest tree');
    assert.doesNotMatch(dec(rw.stdout), /root:/);
    assert.equal(rw.changes.length, 1);
    const { manifest } = await readSnapshot(reg, rw.changes[0].snapshot);
    const a = manifest.entries.find((e) => e.path === 'a.txt');
    assert.equal(a.digest, sha256Hex(new TextEncoder().encode('changed')));
    assert.equal(manifest.entries.length, 1, 'only what changed');
    // The original is as it was.
    const again = await rt.spawn({ module: editWasm, args: ['/data/a.txt', 'x'], snapshots: [{ snapshot: id, guest: '/data', writable: true }] }).wait();
    assert.match(dec(again.stdout), /alpha/);
  });

  it('a hostile manifest is refused before anything is written: climbing paths, writes through links', async () => {
    for (const entries of [
      [{ path: '../x', type: 'dir' }],
      [{ path: 'l', type: 'symlink', target: '/etc' }, { path: 'l/passwd', type: 'file', digest: sha256Hex(new Uint8Array()) }],
      [{ path: 'a//b', type: 'dir' }],
    ]) {
      const text = canonicalJson({ v: 1, entries });
      const hex = sha256Hex(text);
      await reg.store.putBlob(`snapshots/sha256/${hex}`, new TextEncoder().encode(text));
      const dir = tmp('mat');
      await assert.rejects(materializeSnapshot(reg, `sha256:${hex}`, dir), /snapshot sha256:/);
      assert.deepEqual(fs.readdirSync(dir), []);
    }
    await assert.rejects(materializeSnapshot(reg, 'sha256:' + '0'.repeat(64), tmp('mat')), /no snapshot sha256:0{64} in the registry/);
  });
});

describe('snapshots travel with tasks to a wtm worker', { skip: natsMissing }, () => {
  let server;
  it('a remote task mounts a snapshot writable; its changes come back; host mounts are refused', async () => {
    server = await startNats();
    const reg = new Registry(await NatsStore.open(server.url));
    const q = await NatsTaskQueue.open(server.url, { registry: reg });
    const worker = spawn(process.execPath, [wtmBin, 'worker', '--queue', server.url, '--concurrency', '1'], { env: { ...process.env, WTM_HOME: tmp('wh') }, stdio: 'ignore' });
    try {
      const client = tmp('client');
      const id = spawnSync(process.execPath, [wtmBin, 'snapshot', sampleDir(), '--registry', server.url], { encoding: 'utf8', env: { ...process.env, WTM_HOME: client } }).stdout.trim();
      const r = await q.submit({ module: editWasm, args: ['/data/sub/b.txt', 'remote'], snapshots: [{ snapshot: id, guest: '/data', writable: true }] }).wait();
      assert.equal(r.state, 'success', r.error);
      assert.match(dec(r.stdout), /beta/);
      const { manifest } = await readSnapshot(reg, r.changes[0].snapshot);
      assert.deepEqual(manifest.entries.map((e) => e.path), ['sub', 'sub/b.txt']);
      assert.throws(() => q.submit({ module: editWasm, mounts: [{ host: client, guest: '/c' }] }), /a host directory cannot follow a task to another machine/);
    } finally {
      worker.kill('SIGTERM');
      await new Promise((res) => worker.once('exit', res));
      await q.close();
      await reg.store.close();
      await server.stop();
    }
  });
});
