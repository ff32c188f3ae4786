// Running images: three layers with whiteouts and an opaque directory, copy-up into the
// process's own directory, 20 tasks on one image each seeing only its own change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Registry, Runtime } from '../dist/index.js';
import { tarOf, treeDigest } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${prefix}-`));
const sha = (b) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');
const text = (b) => Buffer.from(b).toString('utf8');


async function makeImage(dir, imageConfig = { Entrypoint: ['/app/edit.wasm'], Env: ['FROM_IMAGE=1'], WorkingDir: '/etc' }, name = 'layered:1') {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b) => {
    fs.writeFileSync(path.join(blobs, sha(b).slice(7)), b);
    return { digest: sha(b), size: b.length };
  };
  const layers = [
    [{ name: 'app/edit.wasm', data: fs.readFileSync(path.join(root, 'tests/guests/edit.wasm')) },
      { name: 'app/fileops.wasm', data: fs.readFileSync(path.join(root, 'tests/guests/fileops.wasm')) },
      { name: 'app/cat_lines.wasm', data: fs.readFileSync(path.join(root, 'tests/guests/cat_lines.wasm')) }, { name: 'etc/a.txt', data: 'a1' },
      { name: 'etc/b.txt', data: 'b1' }, { name: 'opq/x.txt', data: 'x1' }, { name: 'gone.txt', data: 'g1' }],
    [{ name: 'etc/a.txt', data: 'a2' }, { name: '.wh.gone.txt' }, { name: 'opq/.wh..wh..opq' }, { name: 'opq/y.txt', data: 'y2' }],
    [{ name: 'etc/b.txt', data: 'b3' }, { name: 'etc/c.txt', data: 'c3' }],
  ];
  const descs = [];
  for (const l of layers) descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(zlib.gzipSync(await tarOf(l))) });
  const config = put(Buffer.from(JSON.stringify({ os: 'wasip1', architecture: 'wasm', config: imageConfig })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: descs })));
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': name } }] }));
}

test('wtm run IMAGE: layers merged with whiteouts and an opaque dir, writes copied up, layers unchanged', async () => {
  const home = tmp('home');
  const dir = tmp('layout');
  await makeImage(dir);
  const env = { ...process.env, WTM_HOME: home };
  assert.equal(spawnSync(process.execPath, [wtm, 'image', 'import', dir], { env }).status, 0);
  const layersBefore = treeDigest(path.join(home, 'layers'));
  const r = spawnSync(process.execPath, [wtm, 'run', 'layered:1', 'a.txt', 'mine', '/etc/b.txt', '/etc/c.txt', '/gone.txt', '/opq/x.txt', '/opq/y.txt'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /old a\.txt: a2/, 'a relative path resolves in the WorkingDir, the upper layer wins');
  assert.match(r.stdout, /new a\.txt: mine/);
  assert.match(r.stdout, /see \/etc\/b\.txt: b3/);
  assert.match(r.stdout, /see \/etc\/c\.txt: c3/);
  assert.match(r.stdout, /see \/gone\.txt: missing/, 'a whiteout hides the lower file');
  assert.match(r.stdout, /see \/opq\/x\.txt: missing/, 'an opaque directory hides the lower content');
  assert.match(r.stdout, /see \/opq\/y\.txt: y2/);
  assert.equal(treeDigest(path.join(home, 'layers')), layersBefore, 'the layers never change');
  const [upper] = fs.readdirSync(path.join(home, 'roots'));
  assert.equal(fs.readFileSync(path.join(home, 'roots', upper, 'etc/a.txt'), 'utf8'), 'mine', 'the change lives in the process\'s own directory');
});

/** A registry holding the test image, its layers' digest, and a runtime recording into it. */
async function importedImage() {
  const home = tmp('home');
  const dir = tmp('layout');
  await makeImage(dir);
  const registry = await Registry.open(home);
  const env = { ...process.env, WTM_HOME: home };
  assert.equal(spawnSync(process.execPath, [wtm, 'image', 'import', dir], { env }).status, 0);
  const layersBefore = treeDigest(path.join(home, 'layers'));
  return { home, layersBefore, rt: new Runtime({ registry, tasksDir: path.join(home, 'tasks') }) };
}

test('20 tasks on one image each change the same file and see only their change', async () => {
  const { home, layersBefore, rt } = await importedImage();
  try {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => rt.spawn({ image: 'layered:1', args: ['/etc/a.txt', `task-${i}`] }).wait()));
    for (const [i, r] of results.entries()) {
      assert.equal(r.state, 'success', r.error);
      assert.match(text(r.stdout), /old \/etc\/a\.txt: a2/);
      assert.match(text(r.stdout), new RegExp(`new /etc/a\\.txt: task-${i}\\n`));
      assert.equal(fs.readFileSync(path.join(r.root, 'etc/a.txt'), 'utf8'), `task-${i}`);
    }
    assert.equal(treeDigest(path.join(home, 'layers')), layersBefore);
    assert.equal(fs.readdirSync(path.join(home, 'layers')).length, 3, 'each layer unpacked once, shared');
  } finally {
    await rt.close();
  }
});

test('delete, rename and link of lower files: whiteouts and copies in the process\'s own directory, layers unchanged', async () => {
  const { home, layersBefore, rt } = await importedImage();
  try {
    const r = await rt.spawn({
      image: 'layered:1', module: '/app/fileops.wasm',
      args: ['rm', '/etc/b.txt', 'mv', '/etc/a.txt', '/etc/moved.txt', 'ln', '/etc/c.txt', '/etc/c2.txt', 'ls', '/etc', 'cat', '/etc/moved.txt', 'cat', '/etc/c2.txt'],
    }).wait();
    const out = text(r.stdout);
    assert.equal(r.state, 'success', out + (r.error ?? ''));
    assert.match(out, /ls \/etc: c\.txt c2\.txt moved\.txt\n/, 'b removed, a renamed, c linked');
    assert.match(out, /cat \/etc\/moved\.txt: a2/);
    assert.match(out, /cat \/etc\/c2\.txt: c3/);
    // In the task's own directory: whiteouts for the lower names, copies for the new ones.
    const etc = path.join(r.root, 'etc');
    for (const n of ['.wh.b.txt', '.wh.a.txt', 'moved.txt', 'c.txt', 'c2.txt']) assert.ok(fs.existsSync(path.join(etc, n)), `${n} in the upper layer`);
    // A second task on the same image still sees the original files.
    const again = await rt.spawn({ image: 'layered:1', module: '/app/fileops.wasm', args: ['ls', '/etc'] }).wait();
    assert.match(text(again.stdout), /ls \/etc: a\.txt b\.txt c\.txt\n/);
  } finally {
    await rt.close();
  }
  assert.equal(treeDigest(path.join(home, 'layers')), layersBefore);
});

test('wtm run IMAGE behaves as for a module and as Docker: arguments replace Cmd, Entrypoint stays; stdin, the id line, describe names the image, rm frees its root', async () => {
  const home = tmp('home');
  const env = { ...process.env, WTM_HOME: home };
  const cli = (args, input = '') => spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', env, input });
  // Cmd only: the arguments replace it whole (their first names the .wasm), as docker run does.
  const cmdOnly = tmp('layout-cmd');
  await makeImage(cmdOnly, { Cmd: ['/app/fileops.wasm', 'cat', '/etc/a.txt'] }, 'cmd:1');
  // Entrypoint and Cmd: the arguments replace Cmd only.
  const both = tmp('layout-both');
  await makeImage(both, { Entrypoint: ['/app/fileops.wasm'], Cmd: ['cat', '/etc/a.txt'] }, 'both:1');
  const stdin = tmp('layout-stdin');
  await makeImage(stdin, { Entrypoint: ['/app/cat_lines.wasm'] }, 'stdin:1');
  for (const d of [cmdOnly, both, stdin]) assert.equal(cli(['image', 'import', d]).status, 0);

  assert.equal(cli(['run', 'cmd:1']).stdout, 'cat /etc/a.txt: a2\n');
  assert.equal(cli(['run', 'cmd:1', '/app/fileops.wasm', 'cat', '/etc/c.txt']).stdout, 'cat /etc/c.txt: c3\n');
  assert.equal(cli(['run', 'both:1']).stdout, 'cat /etc/a.txt: a2\n');
  const replaced = cli(['run', 'both:1', 'cat', '/etc/b.txt']);
  assert.equal(replaced.status, 0, replaced.stderr);
  assert.equal(replaced.stdout, 'cat /etc/b.txt: b3\n', 'Cmd replaced, not appended to');

  const piped = cli(['run', 'stdin:1'], 'one\ntwo\n');
  assert.equal(piped.stdout, 'reading\ngot one\ngot two\n', 'piped stdin reaches the image\'s guest');
  const id = /^wtm: process ([0-9a-f-]{36})$/m.exec(piped.stderr)?.[1];
  assert.ok(id, `the process line: ${piped.stderr}`);
  assert.match(cli(['describe', id]).stdout, /^Image: {5}stdin:1@sha256:[0-9a-f]{64}$/m);
  assert.ok(fs.existsSync(path.join(home, 'roots', id)), 'the run\'s root is named by its id');
  assert.equal(cli(['rm', id]).status, 0);
  assert.ok(!fs.existsSync(path.join(home, 'roots', id)), 'rm removes the run\'s root with its record');
});
