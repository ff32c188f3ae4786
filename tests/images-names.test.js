// Image names as Docker users expect them (issue 11): bare layout tags as DIR:TAG, layouts with
// several tags, one image with several names, Docker's reference rules (x = x:latest =
// docker.io/library/x), image tag, image rm NAME untags and frees only with no name left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Registry } from '../dist/index.js';
import { assertOneLineError, tarOf } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${prefix}-`));
const cli = (home, args) => spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 60000, env: { ...process.env, WTM_HOME: home } });
const sha = (b) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');
const helloBytes = fs.readFileSync(path.join(root, 'examples/hello.wasm'));
const ok = (r) => {
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};
const ls = (home) => JSON.parse(ok(cli(home, ['image', 'ls', '-o', 'json'])));
const namesOf = (home) => Object.fromEntries(ls(home).map((r) => [r.manifestDigest, [...r.names].sort()]));

/**
 * Writes an image's blobs into the layout `dir`: a layer with /app/hello.wasm and a config
 * whose entry point prints `label` (or, with `platform`, a non-wasm image running /bin/sh).
 */
async function addImage(dir, label, platform) {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b) => {
    fs.writeFileSync(path.join(blobs, sha(b).slice(7)), b);
    return { digest: sha(b), size: b.length };
  };
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(zlib.gzipSync(await tarOf([{ name: 'app/hello.wasm', data: helloBytes }]))) };
  const config = put(Buffer.from(JSON.stringify(platform
    ? { os: platform.os, architecture: platform.arch, config: { Entrypoint: ['/bin/sh'], Cmd: ['-c', label] } }
    : { os: 'wasip1', architecture: 'wasm', config: { Entrypoint: ['/app/hello.wasm', label] } })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [layer] })));
  return { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest };
}

/** Writes oci-layout and index.json: `entries` are [descriptor, tag annotation or undefined]. */
function writeIndex(dir, entries) {
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: entries.map(([d, tag]) => (tag === undefined ? d : { ...d, annotations: { 'org.opencontainers.image.ref.name': tag } })),
  }));
}

/** A layout directory named `name` (inside a fresh temporary directory). */
function layoutDir(name) {
  const dir = path.join(tmp('layouts'), name);
  fs.mkdirSync(dir);
  return dir;
}

/** An OCI archive (a tar of the layout `dir`) at `file`. */
async function archive(dir, file) {
  const files = [];
  const walk = (d, rel) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      if (fs.statSync(p).isDirectory()) walk(p, `${rel}${n}/`);
      else files.push({ name: rel + n, data: fs.readFileSync(p) });
    }
  };
  walk(dir, '');
  fs.writeFileSync(file, await tarOf(files));
  return file;
}

test('a bare tag in index.json (as skopeo and umoci write it) names the image DIR:TAG; an archive names it after its file', async () => {
  const home = tmp('home');
  const dir = layoutDir('reader');
  const d = await addImage(dir, 'reader-v1');
  writeIndex(dir, [[d, 'v1']]);
  assert.equal(ok(cli(home, ['image', 'import', dir])), `reader:v1 ${d.digest}\n`);
  assert.equal(ok(cli(home, ['run', 'reader:v1'])), 'hello from wasm reader-v1\n');
  assertOneLineError(cli(home, ['run', 'v1']), 1, /no module file or image named v1/);

  // An archive file: its base name without the extension, lowercased into a valid name.
  const home2 = tmp('home');
  const file = await archive(dir, path.join(tmp('arch'), 'My_Reader.tar'));
  assert.equal(ok(cli(home2, ['image', 'import', file])), `my_reader:v1 ${d.digest}\n`);
  // A full reference in the annotation is taken as it is.
  writeIndex(dir, [[d, 'example.com/team/reader:2']]);
  assert.equal(ok(cli(home2, ['image', 'import', dir])), `example.com/team/reader:2 ${d.digest}\n`);
  assert.deepEqual(namesOf(home2), { [d.digest]: ['example.com/team/reader:2', 'my_reader:v1'] });
});

test('a layout with several tags: LAYOUT:TAG imports one, LAYOUT all of them when all are wasm, else says which tags exist', async () => {
  const dir = layoutDir('multi');
  const v1 = await addImage(dir, 'one');
  const v2 = await addImage(dir, 'two');
  // Two manifests, and two tags (v2, stable) on the second one.
  writeIndex(dir, [[v1, 'v1'], [v2, 'v2'], [v2, 'stable']]);

  const home = tmp('home');
  assert.equal(ok(cli(home, ['image', 'import', `${dir}:v2`])), `multi:v2 ${v2.digest}\n`);
  assert.deepEqual(namesOf(home), { [v2.digest]: ['multi:v2'] });
  assert.equal(ok(cli(home, ['run', 'multi:v2'])), 'hello from wasm two\n');
  assertOneLineError(cli(home, ['image', 'import', `${dir}:v3`]), 1, /multi has no image tagged v3 \(its tags: v1, v2, stable\)/);

  const all = tmp('home');
  const out = ok(cli(all, ['image', 'import', dir]));
  assert.equal(out, `multi:v1 ${v1.digest}\nmulti:v2 ${v2.digest}\nmulti:stable ${v2.digest}\n`);
  assert.deepEqual(namesOf(all), { [v1.digest]: ['multi:v1'], [v2.digest]: ['multi:stable', 'multi:v2'] });
  assert.equal(ok(cli(all, ['run', 'multi:v1'])), 'hello from wasm one\n');
  assert.equal(ok(cli(all, ['run', 'multi:stable'])), 'hello from wasm two\n');
  assertOneLineError(cli(all, ['image', 'import', '--name', 'x', dir]), 2, /--name names one image, and .*multi holds 2 .*:TAG/);

  // A tag that is not wasm: importing everything is refused, naming each tag and what it is.
  const mixed = layoutDir('mixed');
  const w = await addImage(mixed, 'wasm');
  const l = await addImage(mixed, 'echo hi', { os: 'linux', arch: 'arm64' });
  writeIndex(mixed, [[w, 'wasm'], [l, 'linux']]);
  const home3 = tmp('home');
  assertOneLineError(cli(home3, ['image', 'import', mixed]), 1, /mixed holds 2 tagged images, not all of them wasm: mixed:wasm \(wasm\); mixed:linux \(linux\/arm64, not wasm\): import one with .*mixed:TAG/);
  assert.deepEqual(ls(home3), [], 'a refused import keeps nothing');
  assert.equal(ok(cli(home3, ['image', 'import', `${mixed}:wasm`])), `mixed:wasm ${w.digest}\n`);
});

test('one image, several names: importing or tagging a digest again adds the name; ls shows one row per name', async () => {
  const home = tmp('home');
  const dir = layoutDir('app');
  const d = await addImage(dir, 'app');
  writeIndex(dir, [[d, '1']]);
  ok(cli(home, ['image', 'import', dir]));
  assert.equal(ok(cli(home, ['image', 'import', '--name', 'other/app:2', dir])), `other/app:2 ${d.digest}\n`);
  assert.equal(ok(cli(home, ['image', 'tag', 'app:1', 'registry.example:5000/app:prod'])), `registry.example:5000/app:prod ${d.digest}\n`);
  assert.deepEqual(namesOf(home), { [d.digest]: ['app:1', 'other/app:2', 'registry.example:5000/app:prod'] });
  const table = ok(cli(home, ['image', 'ls'])).trim().split('\n');
  assert.equal(table.length, 4, table.join('\n'));
  assert.match(table[0], /^NAME\s+DIGEST/);
  assert.match(table[1], /^app:1\s+sha256:/);
  assert.match(table[2], /^other\/app:2\s+sha256:/);
  assert.match(table[3], /^registry\.example:5000\/app:prod\s+sha256:/);
  assert.equal(ok(cli(home, ['image', 'ls', '-q'])), 'app:1\nother/app:2\nregistry.example:5000/app:prod\n');
  for (const n of ['app:1', 'other/app:2', 'registry.example:5000/app:prod', d.digest.slice(7, 19)]) assert.equal(ok(cli(home, ['run', n])), 'hello from wasm app\n');

  // A name belongs to one image: tagging another image with it moves it.
  const dir2 = layoutDir('app');
  const d2 = await addImage(dir2, 'app-2');
  writeIndex(dir2, [[d2, 'new']]);
  ok(cli(home, ['image', 'import', dir2]));
  ok(cli(home, ['image', 'tag', 'app:new', 'app:1']));
  assert.deepEqual(namesOf(home), { [d.digest]: ['other/app:2', 'registry.example:5000/app:prod'], [d2.digest]: ['app:1', 'app:new'] });
  assert.equal(ok(cli(home, ['run', 'app:1'])), 'hello from wasm app-2\n');
});

test("Docker's reference rules: no tag means :latest, docker.io/library/x is x, names normalised when stored and looked up", async () => {
  const home = tmp('home');
  const dir = layoutDir('plain');
  const d = await addImage(dir, 'plain');
  writeIndex(dir, [[d, 'v1']]);
  assert.equal(ok(cli(home, ['image', 'import', '--name', 'docker.io/library/reader', dir])), `reader:latest ${d.digest}\n`);
  for (const n of ['reader', 'reader:latest', 'library/reader', 'docker.io/library/reader:latest', 'index.docker.io/library/reader']) {
    assert.equal(ok(cli(home, ['run', n])), 'hello from wasm plain\n', n);
  }
  ok(cli(home, ['image', 'tag', 'reader', 'docker.io/team/reader']));
  ok(cli(home, ['image', 'tag', 'reader', 'localhost:5000/reader']));
  assert.deepEqual(namesOf(home), { [d.digest]: ['localhost:5000/reader:latest', 'reader:latest', 'team/reader:latest'] });
  assert.equal(ok(cli(home, ['run', 'team/reader:latest'])), 'hello from wasm plain\n');
  assertOneLineError(cli(home, ['run', 'reader:v2']), 1, /no module file or image named reader:v2/);
  assertOneLineError(cli(home, ['image', 'tag', 'reader', 'Bad/Name']), 1, /Bad\/Name: not a valid image name/);
  assertOneLineError(cli(home, ['image', 'tag', 'reader', 'x:bad tag']), 1, /not a valid tag/);
  assertOneLineError(cli(home, ['image', 'tag', 'reader']), 2, /needs a SOURCE image and a new NAME/);
  assertOneLineError(cli(home, ['image', 'tag', 'nothing', 'x']), 1, /no module file or image named nothing/);

  // An old record holding one `name` still reads, and is rewritten with `names`.
  const registry = await Registry.open(home);
  const [rec] = ls(home);
  const old = { ...rec, name: 'old:1' };
  delete old.names;
  await registry.store.putRecord('image', d.digest.slice(7), old);
  assert.deepEqual(namesOf(home), { [d.digest]: ['old:1'] });
  assert.equal(ok(cli(home, ['run', 'old:1'])), 'hello from wasm plain\n');
  assertOneLineError(cli(home, ['image', 'tag', 'old', 'new']), 1, /no module file or image named old /);
  ok(cli(home, ['image', 'tag', 'old:1', 'new']));
  assert.deepEqual(namesOf(home), { [d.digest]: ['new:latest', 'old:1'] });
  const stored = await registry.store.getRecord('image', d.digest.slice(7));
  assert.deepEqual(stored.names, ['old:1', 'new:latest']);
  assert.equal(stored.name, undefined);
});

test('pull 127.0.0.1:PORT/reader stores 127.0.0.1:PORT/reader:latest; run and rm find it by the short name', async () => {
  const dir = layoutDir('served');
  const d = await addImage(dir, 'pulled');
  writeIndex(dir, [[d, 'latest']]);
  const server = http.createServer((req, res) => {
    const m = /^\/v2\/reader\/(manifests|blobs)\/(.+)$/.exec(new URL(req.url, 'http://x').pathname);
    const digest = m && (m[2] === 'latest' ? d.digest : m[2]);
    const file = digest && path.join(dir, 'blobs/sha256', digest.replace(/^sha256:/, ''));
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': m[1] === 'manifests' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const home = tmp('home');
    const ref = `127.0.0.1:${server.address().port}/reader`;
    const r = await new Promise((resolve) => {
      const child = spawn(process.execPath, [wtm, 'image', 'pull', '--insecure', ref], { env: { ...process.env, WTM_HOME: home } });
      let out = '', err = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (err += c));
      child.on('close', (status) => resolve({ status, stdout: out, stderr: err }));
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${ref}:latest ${d.digest}\n`);
    assert.deepEqual(namesOf(home), { [d.digest]: [`${ref}:latest`] });
    assert.equal(ok(cli(home, ['run', ref])), 'hello from wasm pulled\n');
    const rm = ok(cli(home, ['image', 'rm', ref]));
    assert.match(rm, new RegExp(`^${ref.replace(/\./g, '\\.')}:latest ${d.digest}\nuntagged ${ref.replace(/\./g, '\\.')}:latest, removed image ${d.digest}: freed 3 blobs`));
    assert.deepEqual(ls(home), []);
  } finally {
    server.close();
  }
});

test('image rm NAME untags while other names remain, frees blobs and layers with the last; rm DIGEST-PREFIX removes the image whole', async () => {
  const home = tmp('home');
  const dir = layoutDir('rmme');
  const d = await addImage(dir, 'rm');
  writeIndex(dir, [[d, 'a'], [d, 'b'], [d, 'c']]);
  ok(cli(home, ['image', 'import', dir]));
  const layers = () => fs.readdirSync(path.join(home, 'layers')).filter((n) => !n.startsWith('.')).length;
  assert.equal(layers(), 1);

  assert.equal(ok(cli(home, ['image', 'rm', 'rmme:a'])), `rmme:a ${d.digest}\nuntagged rmme:a; the image keeps the names rmme:b, rmme:c\n`);
  assert.deepEqual(namesOf(home), { [d.digest]: ['rmme:b', 'rmme:c'] });
  assert.equal(layers(), 1, 'untagging frees nothing');
  assertOneLineError(cli(home, ['image', 'rm', 'rmme:a']), 1, /no module file or image named rmme:a/);
  ok(cli(home, ['image', 'rm', 'rmme:b']));
  const last = ok(cli(home, ['image', 'rm', 'rmme:c']));
  assert.match(last, new RegExp(`^rmme:c ${d.digest}\nuntagged rmme:c, removed image ${d.digest}: freed 3 blobs \\(.*\\) and 1 unpacked layer \\(.*\\)\n$`));
  assert.deepEqual(ls(home), []);
  assert.equal(layers(), 0);

  // By digest prefix: every name goes with the image.
  ok(cli(home, ['image', 'import', dir]));
  const whole = ok(cli(home, ['image', 'rm', d.digest.slice(7, 19)]));
  assert.match(whole, new RegExp(`^rmme:a, rmme:b, rmme:c ${d.digest}\nuntagged rmme:a, rmme:b, rmme:c, removed image ${d.digest}: freed 3 blobs`));
  assert.deepEqual(ls(home), []);
  assertOneLineError(cli(home, ['image', 'rm', 'rmme']), 1, /no module file or image named rmme/);
});
