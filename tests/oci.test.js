// OCI images into the registry: layouts, OCI archives and docker save archives, built here
// byte by byte; digests checked, layers unpacked once, hostile layers refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { tarOf } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${prefix}-`));
const cli = (home, args) => spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 60000, env: { ...process.env, WTM_HOME: home } });
const sha = (b) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');


/** Writes an OCI layout with the given layers (arrays of tar entries); returns its parts. */
async function makeLayout(dir, layers, { name = 'example.com/hello:1', entrypoint = ['/app/hello.wasm'] } = {}) {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b) => {
    const d = sha(b);
    fs.writeFileSync(path.join(blobs, d.slice(7)), b);
    return { digest: d, size: b.length };
  };
  const layerDescs = [];
  for (const l of layers) layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(zlib.gzipSync(await tarOf(l))) });
  const config = put(Buffer.from(JSON.stringify({ os: 'wasip1', architecture: 'wasm', config: { Entrypoint: entrypoint, Env: ['A=1'], WorkingDir: '/app' }, rootfs: { type: 'layers', diff_ids: [] } })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: layerDescs })));
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': name } }] }));
  return { manifest, config, layers: layerDescs };
}

const helloBytes = fs.readFileSync(path.join(root, 'examples/hello.wasm'));

test('an OCI layout imports: blobs checked, layers unpacked once, listed, removed', async () => {
  const home = tmp('home');
  const dir = tmp('layout');
  const parts = await makeLayout(dir, [
    [{ name: 'app/', type: 'directory' }, { name: 'app/hello.wasm', data: helloBytes }, { name: 'etc/motd', data: 'lower\n' }],
    [{ name: 'etc/motd', data: 'upper\n' }, { name: 'etc/.wh.gone', data: '' }],
  ]);
  const r = cli(home, ['image', 'import', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^example\.com\/hello:1 sha256:/);
  for (const l of parts.layers) assert.ok(fs.existsSync(path.join(home, 'layers', l.digest.slice(7))), 'layer unpacked');
  assert.equal(fs.readFileSync(path.join(home, 'layers', parts.layers[0].digest.slice(7), 'app/hello.wasm')).length, helloBytes.length);
  // Whiteouts stay as files in their layer, for the overlay to read.
  assert.ok(fs.existsSync(path.join(home, 'layers', parts.layers[1].digest.slice(7), 'etc/.wh.gone')));
  const ls = cli(home, ['image', 'ls']);
  assert.match(ls.stdout, /example\.com\/hello:1\s+sha256:\S+\s+2\s+.*\/app\/hello\.wasm/);
  const json = JSON.parse(cli(home, ['image', 'ls', '-o', 'json']).stdout);
  assert.equal(json[0].layers.length, 2);
  assert.equal(cli(home, ['image', 'rm', 'example.com/hello:1']).status, 0);
  assert.deepEqual(JSON.parse(cli(home, ['image', 'ls', '-o', 'json']).stdout), []);
});

test('a blob whose bytes do not match its digest is refused and nothing is kept', async () => {
  const home = tmp('home');
  const dir = tmp('layout');
  const parts = await makeLayout(dir, [[{ name: 'app/hello.wasm', data: helloBytes }]]);
  const layerFile = path.join(dir, 'blobs', 'sha256', parts.layers[0].digest.slice(7));
  const b = fs.readFileSync(layerFile);
  b[b.length >> 1] ^= 0xff;
  fs.writeFileSync(layerFile, b);
  const r = cli(home, ['image', 'import', dir]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /content hashes to sha256:/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.deepEqual(JSON.parse(cli(home, ['image', 'ls', '-o', 'json']).stdout), []);
  assert.ok(!fs.existsSync(path.join(home, 'layers')) || fs.readdirSync(path.join(home, 'layers')).length === 0);
});

test('a layer with a climbing entry is refused, naming it, and nothing is written outside', async () => {
  const home = tmp('home');
  const dir = tmp('layout');
  await makeLayout(dir, [[{ name: '../../escape.txt', data: 'x' }]]);
  const parent = path.dirname(home);
  const before = new Set(fs.readdirSync(parent));
  const r = cli(home, ['image', 'import', dir]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /entry "\.\.\/\.\.\/escape\.txt"/);
  assert.ok(!fs.readdirSync(parent).some((n) => !before.has(n) && n.includes('escape')));
  assert.deepEqual(fs.readdirSync(path.join(home, 'layers')), []);
});

test('an OCI archive and a docker save archive import too', async () => {
  const home = tmp('home');
  const dir = tmp('layout');
  await makeLayout(dir, [[{ name: 'app/hello.wasm', data: helloBytes }]], { name: 'archived:1' });
  const files = [];
  const walk = (d, rel) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      if (fs.statSync(p).isDirectory()) walk(p, rel + n + '/');
      else files.push({ name: rel + n, data: fs.readFileSync(p) });
    }
  };
  walk(dir, '');
  const ociArchive = path.join(tmp('arch'), 'image.tar');
  fs.writeFileSync(ociArchive, await tarOf(files));
  const a = cli(home, ['image', 'import', ociArchive]);
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stdout, /^archived:1 /);

  const layer = await tarOf([{ name: 'app/hello.wasm', data: helloBytes }]);
  const config = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', config: { Cmd: ['/app/hello.wasm'] } }));
  const docker = path.join(tmp('arch'), 'docker.tar');
  fs.writeFileSync(docker, await tarOf([
    { name: 'manifest.json', data: JSON.stringify([{ Config: 'config.json', RepoTags: ['docker/hello:latest'], Layers: ['layer/layer.tar'] }]) },
    { name: 'config.json', data: config },
    { name: 'layer/layer.tar', data: layer },
  ]));
  const d = cli(home, ['image', 'import', docker]);
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stdout, /^docker\/hello:latest /);
  assert.equal(JSON.parse(cli(home, ['image', 'ls', '-o', 'json']).stdout).length, 2);
});

test('a zstd layer declared as gzip is read from its bytes (as real images do)', async () => {
  const home = tmp('home');
  const dir = tmp('layout');
  const parts = await makeLayout(dir, [[{ name: 'app/hello.wasm', data: helloBytes }]]);
  // Replace the layer with a zstd-compressed one (made with the zstd tool, committed), keeping
  // the gzip media type in the manifest.
  const zst = fs.readFileSync(path.join(root, 'tests/fixtures/layer.tar.zst'));
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.writeFileSync(path.join(blobs, sha(zst).slice(7)), zst);
  const manifestFile = path.join(blobs, parts.manifest.digest.slice(7));
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  manifest.layers[0] = { ...manifest.layers[0], digest: sha(zst), size: zst.length };
  const mbytes = Buffer.from(JSON.stringify(manifest));
  fs.writeFileSync(path.join(blobs, sha(mbytes).slice(7)), mbytes);
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
  index.manifests[0] = { ...index.manifests[0], digest: sha(mbytes), size: mbytes.length };
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
  const r = cli(home, ['image', 'import', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(home, 'layers', sha(zst).slice(7), 'app/zstd.txt'), 'utf8'), 'from a zstd layer\n');
});

test('an image whose module is a wasm artifact layer runs that module', async () => {
  const home = tmp('home');
  const dir = tmp('layout');
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b) => {
    fs.writeFileSync(path.join(blobs, sha(b).slice(7)), b);
    return { digest: sha(b), size: b.length };
  };
  const layer = { mediaType: 'application/vnd.wasm.content.layer.v1+wasm', ...put(helloBytes) };
  const config = put(Buffer.from(JSON.stringify({ os: 'wasip1', architecture: 'wasm' })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.wasm.config.v0+json', ...config }, layers: [layer] })));
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'artifact:1' } }] }));
  assert.equal(cli(home, ['image', 'import', dir]).status, 0);
  const r = cli(home, ['run', 'artifact:1', 'x']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'hello from wasm x\n');
});

import http from 'node:http';

test('pull with bearer-token auth: the client answers the challenge and sends the token', async () => {
  // A registry that speaks the distribution API and demands a bearer token, as public
  // registries do; it serves the layout made here.
  const dir = tmp('layout');
  const parts = await makeLayout(dir, [[{ name: 'app/hello.wasm', data: helloBytes }]]);
  const blob = (d) => fs.readFileSync(path.join(dir, 'blobs', 'sha256', d.slice(7)));
  let tokenRequests = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/token') {
      tokenRequests++;
      assert.equal(url.searchParams.get('scope'), 'repository:team/hello:pull');
      res.end(JSON.stringify({ token: 'secret-token' }));
      return;
    }
    if (req.headers.authorization !== 'Bearer secret-token') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${server.address().port}/token",service="test",scope="repository:team/hello:pull"` });
      res.end();
      return;
    }
    const m = /^\/v2\/team\/hello\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    if (!m) return res.writeHead(404).end();
    const digest = m[1] === 'manifests' && m[2] === '1' ? parts.manifest.digest : m[2];
    res.writeHead(200, { 'content-type': m[1] === 'manifests' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/octet-stream' });
    res.end(blob(digest));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const home = tmp('home');
    const port = server.address().port;
    const r = await new Promise((resolve) => {
      const child = spawn(process.execPath, [wtm, 'image', 'pull', '--insecure', `127.0.0.1:${port}/team/hello:1`], { env: { ...process.env, WTM_HOME: home } });
      let out = '', err = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (err += c));
      child.on('close', (status) => resolve({ status, stdout: out, stderr: err }));
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^127\\.0\\.0\\.1:${port}/team/hello:1 ${parts.manifest.digest}`));
    assert.equal(tokenRequests, 1);
  } finally {
    server.close();
  }
});
