#!/usr/bin/env node
// Images: time to start the first task from a freshly imported image (layers unpacked at
// import) and the next ones, and the disk 20 tasks on one image use beside its layers.
// The image: 3 layers (the module, 200 small files, a 4 MiB file). usage: node bench/images.mjs [--json]
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';
import { Registry, Runtime } from '../dist/index.js';
import { importImage, readImageSource } from '../dist/oci/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const json = process.argv.includes('--json');
const sha = (b) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-bench-images-'));
process.on('exit', () => fs.rmSync(base, { recursive: true, force: true }));

async function tarOf(entries) {
  const pack = tar.pack();
  const chunks = [];
  pack.on('data', (c) => chunks.push(c));
  const ended = new Promise((r) => pack.on('end', r));
  for (const e of entries) await new Promise((res, rej) => pack.entry({ name: e.name, mode: 0o644 }, e.data, (err) => (err ? rej(err) : res())));
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

const dir = path.join(base, 'layout');
const blobs = path.join(dir, 'blobs', 'sha256');
fs.mkdirSync(blobs, { recursive: true });
const put = (b) => (fs.writeFileSync(path.join(blobs, sha(b).slice(7)), b), { digest: sha(b), size: b.length });
const layers = [
  [{ name: 'app/edit.wasm', data: fs.readFileSync(path.join(repo, 'tests/guests/edit.wasm')) }],
  Array.from({ length: 200 }, (_, i) => ({ name: `share/doc/f${i}.txt`, data: Buffer.alloc(2000, 97 + (i % 26)) })),
  [{ name: 'data/big.bin', data: crypto.randomBytes(4 << 20) }, { name: 'etc/conf.txt', data: Buffer.from('original\n') }],
];
const descs = [];
for (const l of layers) descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(zlib.gzipSync(await tarOf(l))) });
const config = put(Buffer.from(JSON.stringify({ os: 'wasip1', architecture: 'wasm', config: { Entrypoint: ['/app/edit.wasm'], WorkingDir: '/' } })));
const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: descs })));
fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json', annotations: { 'org.opencontainers.image.ref.name': 'bench:1' } }] }));

const home = path.join(base, 'home');
const registry = await Registry.open(home);
let t = performance.now();
await importImage(registry, await readImageSource(dir), path.join(home, 'layers'));
const importMs = performance.now() - t;

const rt = new Runtime({ registry, tasksDir: path.join(home, 'tasks'), layersDir: path.join(home, 'layers') });
t = performance.now();
const first = await rt.spawn({ image: 'bench:1', args: ['/etc/conf.txt', 'task 0'] }).wait();
const firstMs = performance.now() - t;
if (first.state !== 'success') throw new Error(`first task: ${first.error}`);
const next = [];
for (let i = 1; i < 20; i++) {
  t = performance.now();
  const r = await rt.spawn({ image: 'bench:1', args: ['/etc/conf.txt', `task ${i}`] }).wait();
  next.push(performance.now() - t);
  if (r.state !== 'success') throw new Error(`task ${i}: ${r.error}`);
}
await rt.close();
const du = (d) => {
  let n = 0;
  const walk = (p) => {
    const st = fs.lstatSync(p);
    n += st.blocks * 512;
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(d);
  return n;
};
const tasksBytes = du(path.join(home, 'tasks'));
const layersBytes = du(path.join(home, 'layers'));
next.sort((a, b) => a - b);
const result = {
  importMs, firstTaskMs: firstMs, nextTaskMsMedian: next[next.length >> 1],
  disk: { layersBytes, tasksBytes, tasks: 20, perTaskBytes: tasksBytes / 20, ifEachTaskUnpackedItsOwnCopy: layersBytes * 20 },
};
if (json) console.log(JSON.stringify(result, null, 2));
else {
  const mib = (b) => (b / 2 ** 20).toFixed(2) + ' MiB';
  console.log(`image import (3 layers, ${mib(layersBytes)} unpacked): ${importMs.toFixed(0)} ms`);
  console.log(`first task from the image: ${firstMs.toFixed(0)} ms; next ones: median ${result.nextTaskMsMedian.toFixed(0)} ms`);
  console.log(`disk for 20 tasks on one image (each changed one file): ${mib(tasksBytes)} in their own directories, ${mib(layersBytes)} of shared layers (${mib(layersBytes * 20)} if each had its own copy)`);
}
