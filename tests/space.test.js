// Space: leftovers of killed writers swept by the next command, `wtm gc`, `wtm image rm`
// freeing what only that image used, and `wtm rm` of task trees and running processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Registry } from '../dist/index.js';
import { hostTag } from '../dist/registry/local.js';
import { tarOf, assertOneLineError } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const hello = path.join(root, 'examples/hello.wasm');
const guest = (name) => path.join(root, 'tests/guests', `${name}.wasm`);
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-space-${prefix}-`));
const sha = (b) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');
const cli = (home, args) => spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 60000, env: { ...process.env, WTM_HOME: home } });
const json = (r) => {
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};
const ago = (p, ms) => {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(p, t, t);
};


/** A pid that certainly belonged to a process that has ended. */
function deadPid() {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.equal(r.status, 0);
  return r.pid;
}

/** The registry's processes, newest first. */
function processes(home) {
  return json(cli(home, ['get', 'processes', '-o', 'json']));
}

test('temp files and unpack directories of dead writers vanish on the next command; a live writer keeps its own', () => {
  const home = tmp('sweep');
  const dead = deadPid();
  const tag = hostTag();
  for (const d of ['blobs/modules/sha256', 'records/process', 'layers']) fs.mkdirSync(path.join(home, d), { recursive: true });
  const deadBlob = path.join(home, 'blobs/modules/sha256', `${'a'.repeat(64)}~${dead}-${tag}-0123456789ab.tmp`);
  const deadRecord = path.join(home, 'records/process', `11111111-1111-4111-8111-111111111111.json~${dead}-${tag}-0123456789ab.tmp`);
  const deadUnpack = path.join(home, 'layers', `.unpack-${dead}-${tag}-x`);
  const liveBlob = path.join(home, 'blobs/modules/sha256', `${'b'.repeat(64)}~${process.pid}-${tag}-0123456789ab.tmp`);
  const liveUnpack = path.join(home, 'layers', `.unpack-${process.pid}-${tag}-y`);
  fs.writeFileSync(deadBlob, 'half a module');
  fs.writeFileSync(deadRecord, '{"half":');
  fs.mkdirSync(path.join(deadUnpack, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(deadUnpack, 'etc/motd'), 'half a layer');
  fs.writeFileSync(liveBlob, 'being written');
  fs.mkdirSync(liveUnpack);

  assert.deepEqual(processes(home), []);
  for (const p of [deadBlob, deadRecord, deadUnpack]) assert.ok(!fs.existsSync(p), `${path.basename(p)} swept`);
  assert.ok(fs.existsSync(liveBlob), 'a live writer keeps its temp file');
  assert.ok(fs.existsSync(liveUnpack), 'a live writer keeps its unpack directory');

  // A live pid that is a day old is taken for a reused pid: gc (and a later sweep) removes it.
  ago(liveBlob, 25 * 3_600_000);
  const r = json(cli(home, ['gc', '-o', 'json']));
  assert.equal(r.freed.temp.count, 1);
  assert.equal(r.freed.temp.bytes, 'being written'.length);
  assert.ok(!fs.existsSync(liveBlob));
});

test('wtm gc frees orphan modules, configs, logs, layers and task directories, keeps what records name, and replay still works', () => {
  const home = tmp('gc');
  const keep = cli(home, ['run', '--no-host', hello, 'kept']);
  assert.equal(keep.status, 0, keep.stderr);
  const gone = cli(home, ['run', '--no-host', guest('exit_code'), '3']);
  assert.equal(gone.status, 3, gone.stderr);
  const [keepRec] = processes(home).filter((p) => p.argv.includes('kept'));
  const goneRec = processes(home).find((p) => p.id !== keepRec.id);
  assert.equal(cli(home, ['rm', goneRec.id]).status, 0); // leaves its module and config behind

  // Orphans that a crash or an older wtm could leave, made old enough for any grace.
  const orphanLog = path.join(home, 'blobs/logs/22222222-2222-4222-8222-222222222222');
  fs.writeFileSync(orphanLog, 'a log with no record');
  const orphanTask = path.join(home, 'tasks/33333333-3333-4333-8333-333333333333');
  fs.mkdirSync(path.join(orphanTask, 'out'), { recursive: true });
  fs.writeFileSync(path.join(orphanTask, 'out/result.txt'), 'task output');
  const orphanLayer = path.join(home, 'layers', 'c'.repeat(64));
  fs.mkdirSync(path.join(orphanLayer, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(orphanLayer, 'etc/motd'), 'a layer no image names');
  const keptTask = path.join(home, 'tasks', keepRec.id); // a directory its record names
  fs.mkdirSync(keptTask, { recursive: true });
  for (const p of [orphanLog, orphanTask, orphanLayer, keptTask]) ago(p, 3_600_000);
  const goneModule = path.join(home, 'blobs/modules/sha256', goneRec.moduleDigest);
  const goneConfig = path.join(home, 'records/config', `${goneRec.configDigest}.json`);
  const keepModule = path.join(home, 'blobs/modules/sha256', keepRec.moduleDigest);
  const keepConfig = path.join(home, 'records/config', `${keepRec.configDigest}.json`);
  const keepLog = path.join(home, 'blobs/logs', keepRec.id);
  for (const p of [goneModule, goneConfig, keepModule, keepConfig, keepLog]) assert.ok(fs.existsSync(p), p);

  // Default grace: the module and config just orphaned are young, so they stay; the old ones go.
  const young = cli(home, ['gc']);
  assert.equal(young.status, 0, young.stderr);
  assert.match(young.stdout, /^freed 3 objects, /m);
  assert.match(young.stdout, /kept 2 unreferenced objects younger than 10m \(--grace\)/);
  for (const p of [orphanLog, orphanTask, orphanLayer]) assert.ok(!fs.existsSync(p), `${p} freed`);
  assert.ok(fs.existsSync(goneModule) && fs.existsSync(goneConfig));

  // A dry run lists and removes nothing.
  const dry = cli(home, ['gc', '--dry-run', '--grace', '0']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`modules .*blobs/modules/sha256/${goneRec.moduleDigest}`));
  assert.match(dry.stdout, /would free 2 objects, .*\(dry run: nothing removed\)/);
  assert.ok(fs.existsSync(goneModule) && fs.existsSync(goneConfig));

  const r = json(cli(home, ['gc', '--grace', '0', '-o', 'json']));
  assert.equal(r.freed.modules.count, 1);
  assert.equal(r.freed.modules.bytes, fs.statSync(guest('exit_code')).size);
  assert.equal(r.freed.configs.count, 1);
  assert.equal(r.total.count, 2);
  assert.ok(!fs.existsSync(goneModule) && !fs.existsSync(goneConfig));
  for (const p of [keepModule, keepConfig, keepLog, keptTask]) assert.ok(fs.existsSync(p), `${p} kept`);
  assert.equal(cli(home, ['gc', '--grace', '0']).stdout, 'nothing freed\n');

  const replay = cli(home, ['replay', keepRec.id]);
  assert.equal(replay.status, 0, replay.stderr);
  assert.equal(replay.stdout, keep.stdout);
});

test('wtm gc: a task directory younger than a minute is kept whatever the grace; bad flags are one line', () => {
  const home = tmp('gc-young');
  const fresh = path.join(home, 'tasks/44444444-4444-4444-8444-444444444444');
  fs.mkdirSync(fresh, { recursive: true });
  const r = json(cli(home, ['gc', '--grace', '0', '-o', 'json']));
  assert.equal(r.freed.tasks.count, 0);
  assert.equal(r.spared, 1);
  assert.ok(fs.existsSync(fresh));
  const help = cli(home, ['gc', '--help']).stdout;
  assert.match(help, /safe next to a running 'wtm run'/);
  assert.match(help, /default 10m/);
  assertOneLineError(cli(home, ['gc', '--grace', 'soon']), 2, /--grace soon: expected a duration/);
  assertOneLineError(cli(home, ['gc', 'everything']), 2, /unexpected argument everything/);
  assertOneLineError(cli(home, ['gc', '--frobnicate']), 2, /unknown flag --frobnicate/);
  assertOneLineError(cli(home, ['gc', '-o', 'xml']), 2, /-o xml/);
});

/** An OCI layout of the given layers (arrays of tar entries) running /app/hello.wasm. */
async function makeLayout(dir, layers, name) {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b) => {
    fs.writeFileSync(path.join(blobs, sha(b).slice(7)), b);
    return { digest: sha(b), size: b.length };
  };
  const layerDescs = [];
  for (const l of layers) layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(zlib.gzipSync(await tarOf(l))) });
  const config = put(Buffer.from(JSON.stringify({ os: 'wasip1', architecture: 'wasm', config: { Entrypoint: ['/app/hello.wasm', name] }, rootfs: { type: 'layers', diff_ids: [] } })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: layerDescs })));
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': name } }] }));
  return { manifest, config, layers: layerDescs };
}

test('wtm image rm frees the blobs and layers only that image used, keeps the shared ones; its runs still replay', async () => {
  const home = tmp('image-rm');
  const base = [{ name: 'app/', type: 'directory' }, { name: 'app/hello.wasm', data: fs.readFileSync(hello) }];
  const dirs = { one: tmp('one'), two: tmp('two') };
  const one = await makeLayout(dirs.one, [base, [{ name: 'etc/one', data: 'only in one' }]], 'one:1');
  const two = await makeLayout(dirs.two, [base, [{ name: 'etc/two', data: 'only in two' }]], 'two:1');
  assert.equal(one.layers[0].digest, two.layers[0].digest, 'the base layer is shared');
  for (const dir of Object.values(dirs)) assert.equal(cli(home, ['image', 'import', dir]).status, 0);
  const run = cli(home, ['run', 'one:1']);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /hello from wasm one:1/);
  const [runRec] = processes(home);

  const layer = (d) => path.join(home, 'layers', d.digest.slice(7));
  const blob = (d) => path.join(home, 'blobs/oci/sha256', d.digest.slice(7));
  for (const d of [one.layers[0], one.layers[1], two.layers[1]]) assert.ok(fs.existsSync(layer(d)), 'unpacked');
  const r = cli(home, ['image', 'rm', 'one:1']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^one:1 sha256:/);
  assert.match(r.stdout, /freed 3 blobs \(.*\) and 1 unpacked layer \(.*\); kept 1 shared with other images/);
  for (const d of [one.manifest, one.config, one.layers[1]]) assert.ok(!fs.existsSync(blob(d)), 'a blob only one:1 used is freed');
  assert.ok(!fs.existsSync(layer(one.layers[1])), 'a layer only one:1 used is freed');
  assert.ok(fs.existsSync(blob(one.layers[0])) && fs.existsSync(layer(one.layers[0])), 'the shared layer stays');
  assert.ok(fs.existsSync(layer(two.layers[1])));

  const still = cli(home, ['run', 'two:1']);
  assert.equal(still.status, 0, still.stderr);
  assert.match(still.stdout, /hello from wasm two:1/);
  const replay = cli(home, ['replay', runRec.id]);
  assert.equal(replay.status, 0, replay.stderr);
  assert.equal(replay.stdout, run.stdout);
  assertOneLineError(cli(home, ['image', 'rm', 'one:1']), 1, /no module file or image named one:1/);
  assertOneLineError(cli(home, ['image', 'rm']), 2, /needs a NAME/);
});

test('wtm rm of a process with tasks needs -r, which removes the whole tree', () => {
  const home = tmp('rm-tree');
  const work = tmp('work');
  fs.copyFileSync(hello, path.join(work, 'hello.wasm'));
  const r = cli(home, ['run', '--no-host', '--dir', `${work}:/work`, path.join(root, 'examples/fanout.wasm'), '/work/hello.wasm', '2']);
  assert.equal(r.status, 0, r.stderr);
  const all = processes(home);
  const parent = all.find((p) => !p.parentId);
  const tasks = all.filter((p) => p.parentId === parent.id);
  assert.equal(tasks.length, 2);
  for (const t of tasks) assert.ok(fs.existsSync(path.join(home, 'tasks', t.id)));

  assertOneLineError(cli(home, ['rm', parent.id.slice(0, 8)]), 1, new RegExp(`process ${parent.id} has 2 tasks: .*--recursive \\(-r\\)`));
  assert.equal(processes(home).length, 3, 'a refused rm removes nothing');

  const rm = cli(home, ['rm', '-r', parent.id.slice(0, 8)]);
  assert.equal(rm.status, 0, rm.stderr);
  const removed = rm.stdout.trim().split('\n');
  assert.deepEqual([...removed].sort(), [parent.id, ...tasks.map((t) => t.id)].sort());
  assert.equal(removed.at(-1), parent.id, 'tasks go before their parent');
  assert.deepEqual(processes(home), []);
  for (const t of tasks) assert.ok(!fs.existsSync(path.join(home, 'tasks', t.id)), 'task directories removed');
  assert.deepEqual(fs.readdirSync(path.join(home, 'blobs/logs')), [], 'logs removed');
  assertOneLineError(cli(home, ['rm', '--recursive', parent.id]), 1, /no process/);
});

test('wtm rm refuses a process that is still running, and removes it once its wtm is gone (interrupted)', async () => {
  const home = tmp('rm-running');
  const child = spawn(process.execPath, [wtm, 'run', guest('spin')], { env: { ...process.env, WTM_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  try {
    let out = '';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`spin did not start: ${err}`)), 30000);
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('spinning')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const id = /process ([0-9a-f-]{36})/.exec(err)[1];
    assertOneLineError(cli(home, ['rm', id.slice(0, 8)]), 1, new RegExp(`process ${id} is still running \\(pid ${child.pid}\\); stop it first`));
    assertOneLineError(cli(home, ['rm', '-r', id]), 1, /is still running/);
    assert.equal(processes(home)[0].state, 'running');
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const [rec] = processes(home);
  assert.equal(rec.state, 'interrupted');
  const rm = cli(home, ['rm', rec.id]);
  assert.equal(rm.status, 0, rm.stderr);
  assert.deepEqual(processes(home), []);
});

test('wtm rm -r refuses a tree with a running task (a record owned by a live process) and removes nothing', async () => {
  const home = tmp('rm-running-task');
  const reg = await Registry.open(home);
  const moduleDigest = await reg.putModule(fs.readFileSync(hello));
  const configDigest = await reg.putConfig({ args: [] });
  const parent = await reg.createProcess({ moduleDigest, configDigest, argv: ['parent'], state: 'exited' });
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => sleeper.on('exit', resolve));
  try {
    const task = await reg.createProcess({ moduleDigest, configDigest, argv: ['task'], parentId: parent.id, state: 'running', pid: sleeper.pid, host: os.hostname() });
    assertOneLineError(cli(home, ['rm', '-r', parent.id]), 1, new RegExp(`task ${task.id} of process ${parent.id} is still running \\(pid ${sleeper.pid}\\); stop it first`));
    assert.equal(processes(home).length, 2);
  } finally {
    sleeper.kill('SIGKILL');
    await exited;
  }
  const rm = cli(home, ['rm', '-r', parent.id]);
  assert.equal(rm.status, 0, rm.stderr);
  assert.deepEqual(processes(home), []);
});
