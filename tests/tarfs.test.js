// Tar archives mounted read-only without unpacking: contents reachable through real guests,
// every write refused, and hostile archives (climbing names, links out) refused whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { tarOf, treeDigest } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guest = (name) => path.join(root, 'tests/guests', `${name}.wasm`);
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-test-home-'));
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${prefix}-`));
const cli = (args) => spawnSync(process.execPath, [wtm, 'run', ...args], { encoding: 'utf8', input: '', timeout: 120000, env: { ...process.env, WTM_HOME: home } });

/** Writes a tar of `entries` to a file; gzip when asked. */
async function makeTar(file, entries, gzip = false) {
  const bytes = await tarOf(entries);
  fs.writeFileSync(file, gzip ? zlib.gzipSync(bytes) : bytes);
}

for (const gzip of [false, true]) {
  test(`a ${gzip ? '.tar.gz' : '.tar'} mounts read-only: files, implied dirs, links, no devices`, async () => {
    const dir = tmp('tar');
    const file = path.join(dir, gzip ? 'data.tar.gz' : 'data.tar');
    await makeTar(file, [
      { name: 'a/', type: 'directory' },
      { name: 'a/b.txt', data: 'bee\n' },
      { name: 'a/link', type: 'symlink', linkname: 'b.txt' },
      { name: 'a/hard', type: 'link', linkname: 'a/b.txt' },
      { name: 'x/y/z.txt', data: 'deep without dir entries\n' },
      { name: 'suid', data: 'setuid bit dropped\n', mode: 0o4755 },
      { name: 'dev', type: 'character-device' },
    ], gzip);
    const before = treeDigest(dir);
    for (const [p, want] of [['a/b.txt', 'bee'], ['a/link', 'bee'], ['a/hard', 'bee'], ['x/y/z.txt', 'deep without dir entries'], ['suid', 'setuid bit dropped']]) {
      const r = cli(['--no-host', '--no-record', '--dir', `${file}:/data`, guest('cwd'), 'rel', `/data/${p}`]);
      assert.match(r.stdout, new RegExp(`abs /data/${p}: ${want}`), r.stdout + r.stderr);
    }
    const dev = cli(['--no-host', '--no-record', '--dir', `${file}:/data`, guest('cwd'), 'rel', '/data/dev']);
    assert.match(dev.stdout, /abs \/data\/dev: error/);
    assert.equal(treeDigest(dir), before, 'the archive is never unpacked or changed');
  });
}

test('every write-type call on a mounted archive fails', async () => {
  const dir = tmp('tar');
  const file = path.join(dir, 'ro.tar');
  await makeTar(file, [{ name: 'data.txt', data: 'readonly data\n' }, { name: 'sub/', type: 'directory' }]);
  const before = treeDigest(dir);
  const r = cli(['--no-host', '--no-record', '--dir', `${file}:/ro`, guest('readonly'), '/ro']);
  assert.equal(r.status, 0, r.stdout.split('\n').filter((l) => l.startsWith('not ok')).join('\n') + r.stderr);
  assert.equal(treeDigest(dir), before);
});

const hostile = {
  'a name with ..': [{ name: '../evil.txt', data: 'x' }],
  'a name climbing in the middle': [{ name: 'a/../../evil.txt', data: 'x' }],
  'an absolute name': [{ name: '/tmp/evil.txt', data: 'x' }],
  'a symlink out': [{ name: 'up', type: 'symlink', linkname: '../../..' }],
  'a nested symlink out': [{ name: 'a/b/up', type: 'symlink', linkname: '../../../etc' }],
  'a hard link out': [{ name: 'hard', type: 'link', linkname: '../etc/passwd' }],
};
for (const [what, entries] of Object.entries(hostile)) {
  test(`an archive with ${what} is refused, naming the entry, and nothing is written`, async () => {
    const dir = tmp('tar-hostile');
    const file = path.join(dir, 'bad.tar');
    await makeTar(file, entries);
    const parent = path.dirname(dir);
    const siblings = new Set(fs.readdirSync(parent));
    const before = treeDigest(dir);
    // Recorded (the default): the archive is refused before anything is recorded.
    const r = cli(['--no-host', '--dir', `${file}:/data`, guest('cwd'), 'rel', '/data/x']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.ok(!fs.existsSync(path.join(home, 'records', 'process')) || fs.readdirSync(path.join(home, 'records', 'process')).length === 0, 'nothing recorded');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /entry "/);
    assert.equal(treeDigest(dir), before);
    assert.ok(!fs.readdirSync(parent).some((n) => !siblings.has(n) && n.startsWith('evil')));
  });
}

/** A plain tar whose first entry, a directory, claims `size` bytes of data that follow it. */
async function dirWithData(size) {
  const bytes = Buffer.from(await tarOf([{ name: 'd/', type: 'directory' }, { name: 'f', data: 'hello' }]));
  const header = bytes.subarray(0, 512);
  header.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii');
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return Buffer.concat([header, Buffer.alloc(size, 'X'), bytes.subarray(512)]);
}

test('hostile archives end in one clear line, never a hang: a directory entry with data, too many entries, a gzip bomb', async () => {
  const dir = tmp('tar-hostile');
  const cases = [];
  const withData = path.join(dir, 'dir-with-data.tar');
  fs.writeFileSync(withData, await dirWithData(1024));
  cases.push([withData, /not a readable tar archive/]);
  // 300,000 empty files: past the entries an archive may hold.
  const many = path.join(dir, 'many.tar.gz');
  const header = Buffer.from(await tarOf([{ name: 'f', data: '' }])).subarray(0, 512);
  const blocks = [];
  for (let i = 0; i < 300_000; i++) {
    const h = Buffer.from(header);
    h.write(`f${i}`.padEnd(100, '\0'), 0, 100, 'ascii');
    h.fill(' ', 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
    blocks.push(h);
  }
  blocks.push(Buffer.alloc(1024));
  fs.writeFileSync(many, zlib.gzipSync(Buffer.concat(blocks)));
  cases.push([many, /more than 250000 entries/]);
  // A few kilobytes of gzip that inflate past the bytes a mount may hold (1 GiB).
  const bomb = path.join(dir, 'bomb.tar.gz');
  const z = zlib.createGzip({ level: 1 });
  const chunks = [];
  z.on('data', (c) => chunks.push(c));
  const ended = new Promise((r) => z.on('end', r));
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < 1400; i++) z.write(zeros);
  z.end();
  await ended;
  fs.writeFileSync(bomb, Buffer.concat(chunks));
  cases.push([bomb, /inflates to more than/]);
  for (const [file, message] of cases) {
    const started = Date.now();
    const r = cli(['--no-host', '--no-record', '--dir', `${file}:/g`, path.join(root, 'examples/hello.wasm')]);
    assert.equal(r.status, 1, `${path.basename(file)}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    // Inflating the bomb to its 1 GiB limit takes seconds (more on a loaded machine); a hang never ends.
    assert.ok(Date.now() - started < 90000, `${path.basename(file)} took ${Date.now() - started} ms`);
  }
});
