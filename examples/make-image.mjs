#!/usr/bin/env node
// Makes a small OCI image layout from examples/cat.wasm and a text file, to try images without
// a registry:  node examples/make-image.mjs DIR   then   wtm image import DIR
// One layer (app/cat.wasm, etc/motd.txt), Entrypoint ["/app/cat.wasm"], Cmd ["/etc/motd.txt"],
// tagged cat:1 (org.opencontainers.image.ref.name).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2];
if (!dir) {
  console.error('usage: node examples/make-image.mjs DIR');
  process.exit(2);
}
const blobs = path.join(dir, 'blobs', 'sha256');
fs.mkdirSync(blobs, { recursive: true });
const put = (bytes) => {
  const hex = crypto.createHash('sha256').update(bytes).digest('hex');
  fs.writeFileSync(path.join(blobs, hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
};

const pack = tar.pack();
const chunks = [];
pack.on('data', (c) => chunks.push(c));
const done = new Promise((r) => pack.on('end', r));
const mtime = new Date(1700000000000);
pack.entry({ name: 'app/cat.wasm', mode: 0o755, mtime }, fs.readFileSync(path.join(here, 'cat.wasm')));
pack.entry({ name: 'etc/motd.txt', mode: 0o644, mtime }, 'hello from an image\n');
pack.finalize();
await done;
const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(zlib.gzipSync(Buffer.concat(chunks))) };
const config = { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(Buffer.from(JSON.stringify({
  os: 'wasip1', architecture: 'wasm', config: { Entrypoint: ['/app/cat.wasm'], Cmd: ['/etc/motd.txt'] }, rootfs: { type: 'layers', diff_ids: [] },
}))) };
const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] })));
fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
  schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'cat:1' } }],
}));
console.log(`wrote an OCI image layout to ${dir} (cat:1)`);
