import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { hostTag, LocalStore, SWEEP_EVERY_MS, tempName, unpackPrefix } from './local.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));

const dirs: string[] = [];
function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-store-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((p) => fs.statSync(path.join(dir, p)).isFile())
    .sort();
}

describe('LocalStore records', () => {
  it('puts, gets, lists by prefix and deletes', async () => {
    const s = await LocalStore.open(tmpdir());
    await s.putRecord('thing', 'b', { n: 2 });
    await s.putRecord('thing', 'a', { n: 1 });
    await s.putRecord('thing', 'dir/ab', { n: 3 });
    await s.putRecord('other', 'a', { n: 9 });
    assert.deepEqual(await s.getRecord('thing', 'a'), { n: 1 });
    assert.equal(await s.getRecord('thing', 'zz'), null);
    assert.deepEqual(await s.listRecords('thing'), ['a', 'b', 'dir/ab']);
    assert.deepEqual(await s.listRecords('thing', 'di'), ['dir/ab']);
    assert.deepEqual(await s.listRecords('thing', 'dir/a'), ['dir/ab']);
    assert.deepEqual(await s.listRecords('nothing'), []);
    await s.putRecord('thing', 'a', { n: 10 });
    assert.deepEqual(await s.getRecord('thing', 'a'), { n: 10 });
    assert.equal(await s.deleteRecord('thing', 'a'), true);
    assert.equal(await s.deleteRecord('thing', 'a'), false);
    assert.deepEqual(await s.listRecords('thing'), ['b', 'dir/ab']);
  });
});

describe('LocalStore blobs', () => {
  it('puts bytes and streams, reads whole and streamed, lists, deletes', async () => {
    const s = await LocalStore.open(tmpdir());
    await s.putBlob('x/one', enc('hello'));
    async function* chunks() {
      yield enc('a'.repeat(70000));
      yield enc('b');
    }
    await s.putBlob('x/two', chunks());
    assert.equal(dec(await s.readBlob('x/one')), 'hello');
    assert.ok(!Buffer.isBuffer(await s.readBlob('x/one')), 'plain Uint8Array, not Buffer');
    const stream = await s.getBlob('x/two');
    assert.ok(stream);
    assert.equal(await collect(stream), 'a'.repeat(70000) + 'b');
    assert.equal(await s.getBlob('x/none'), null);
    assert.equal(await s.readBlob('x/none'), null);
    assert.equal(await s.hasBlob('x/one'), true);
    assert.equal(await s.hasBlob('x'), false, 'a directory is not a blob');
    assert.equal(await s.blobSize('x/two'), 70001);
    assert.equal(await s.blobSize('x/none'), null);
    assert.deepEqual(await s.listBlobs(), ['x/one', 'x/two']);
    assert.deepEqual(await s.listBlobs('x/t'), ['x/two']);
    assert.deepEqual(await s.listBlobs('y/'), []);
    assert.equal(await s.deleteBlob('x/one'), true);
    assert.equal(await s.deleteBlob('x/one'), false);
    assert.deepEqual(await s.listBlobs(), ['x/two']);
  });

  it('appends', async () => {
    const s = await LocalStore.open(tmpdir());
    await s.appendBlob('logs/l', enc('ab'));
    await s.appendBlob('logs/l', enc('cd'));
    await Promise.all([s.appendBlob('logs/l', enc('ef')), s.appendBlob('logs/l', enc('ef'))]);
    assert.equal(dec(await s.readBlob('logs/l')), 'abcdefef');
    assert.equal(await s.blobSize('logs/l'), 8);
  });
});

describe('LocalStore atomic writes', () => {
  it('never lists or returns a temp file left by a crash, and cleans it', async () => {
    const dir = tmpdir();
    const s = await LocalStore.open(dir);
    await s.putBlob('m/keep', enc('kept'));
    await s.putRecord('k', 'keep', { ok: true });
    // What a crash between write and rename leaves behind.
    const blobTmp = tempName(path.join(dir, 'blobs', 'm', 'lost'));
    const recTmp = tempName(path.join(dir, 'records', 'k', 'lost.json'));
    fs.writeFileSync(blobTmp, 'half');
    fs.writeFileSync(recTmp, '{"half":');
    assert.deepEqual(await s.listBlobs(), ['m/keep']);
    assert.deepEqual(await s.listRecords('k'), ['keep']);
    assert.equal(await s.readBlob('m/lost'), null);
    assert.equal(await s.hasBlob('m/lost'), false);
    assert.equal(await s.getRecord('k', 'lost'), null);
    assert.deepEqual(await s.cleanTemp(), [], 'temp files of a live writer (this process) are left to it');
    // The same files a day and a bit later: a live pid may be a reused one, so age removes them.
    const later = Date.now() + 25 * 3_600_000;
    assert.equal((await s.cleanTemp({ now: later, dryRun: true })).length, 2);
    assert.ok(fs.existsSync(blobTmp) && fs.existsSync(recTmp), 'a dry run removes nothing');
    assert.equal((await s.cleanTemp({ now: later })).length, 2);
    assert.ok(!fs.existsSync(blobTmp) && !fs.existsSync(recTmp));
    assert.equal(dec(await s.readBlob('m/keep')), 'kept');
  });

  it('removes at once the temp files and unpack directories of a dead writer on this host only', async () => {
    const dir = tmpdir();
    const s = await LocalStore.open(dir);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const tag = hostTag();
    const deadTmp = path.join(dir, 'blobs', `x~${dead}-${tag}-abc123.tmp`);
    const otherHost = path.join(dir, 'blobs', `y~${dead}-00000000-abc123.tmp`);
    const legacy = path.join(dir, 'blobs', `z~${dead}-abc123.tmp`);
    const unpack = path.join(dir, 'layers', `.unpack-${dead}-${tag}-Xy12ab`);
    const liveUnpack = path.join(dir, 'layers', `${unpackPrefix()}Zz99zz`);
    for (const f of [deadTmp, otherHost, legacy]) fs.writeFileSync(f, 'half');
    fs.mkdirSync(path.join(unpack, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(unpack, 'etc', 'f'), '12345');
    fs.mkdirSync(liveUnpack);
    const gone = await s.cleanTemp();
    assert.deepEqual(gone.map((g) => g.path).sort(), [deadTmp, unpack].sort());
    assert.equal(gone.find((g) => g.path === unpack)!.bytes, 5);
    assert.ok(!fs.existsSync(deadTmp) && !fs.existsSync(unpack));
    assert.ok(fs.existsSync(otherHost) && fs.existsSync(legacy) && fs.existsSync(liveUnpack), 'unjudgeable or live writers keep theirs');
  });

  it('sweeps when due: at most once per SWEEP_EVERY_MS', async () => {
    const dir = tmpdir();
    const s = await LocalStore.open(dir);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const plant = () => fs.writeFileSync(path.join(dir, 'blobs', `x~${dead}-${hostTag()}-abc.tmp`), 'half');
    plant();
    assert.equal((await s.sweepIfDue())!.length, 1);
    plant();
    assert.equal(await s.sweepIfDue(), null, 'swept a moment ago');
    assert.equal((await s.sweepIfDue(Date.now() + SWEEP_EVERY_MS + 1000))!.length, 1);
  });

  it('a stream that fails midway leaves the old object and no temp file', async () => {
    const dir = tmpdir();
    const s = await LocalStore.open(dir);
    await s.putBlob('m/b', enc('old'));
    async function* failing() {
      yield enc('new new new');
      throw new Error('source died');
    }
    await assert.rejects(s.putBlob('m/b', failing()), /source died/);
    await assert.rejects(s.putBlob('m/c', failing()), /source died/);
    assert.equal(dec(await s.readBlob('m/b')), 'old');
    assert.equal(await s.hasBlob('m/c'), false);
    assert.deepEqual(tree(path.join(dir, 'blobs')), [path.join('m', 'b')]);
  });
});

describe('LocalStore keys', () => {
  const bad = ['../x', '/abs', 'a/../../b', '..', '.', 'a/./b', '', 'a//b', 'a/', 'UPPER', 'sp ace', 'a\\b', 'a~1', 'x\0y'];

  it('refuses bad keys before touching the disk', async () => {
    const root = tmpdir();
    const dir = path.join(root, 'store');
    const s = await LocalStore.open(dir);
    for (const k of bad) {
      await assert.rejects(s.putBlob(k, enc('x')), /bad key/, `putBlob ${JSON.stringify(k)}`);
      await assert.rejects(s.appendBlob(k, enc('x')), /bad key/, `appendBlob ${JSON.stringify(k)}`);
      await assert.rejects(s.readBlob(k), /bad key/);
      await assert.rejects(s.getBlob(k), /bad key/);
      await assert.rejects(s.hasBlob(k), /bad key/);
      await assert.rejects(s.deleteBlob(k), /bad key/);
      await assert.rejects(s.putRecord('kind', k, {}), /bad key/);
      await assert.rejects(s.getRecord('kind', k), /bad key/);
      await assert.rejects(s.putRecord(k, 'key', {}), /bad record kind/);
    }
    await assert.rejects(s.putRecord('a/b', 'key', {}), /bad record kind/);
    await assert.rejects(s.listBlobs('../'), /bad prefix/);
    await assert.rejects(s.listRecords('k', '../../'), /bad prefix/);
    assert.deepEqual(fs.readdirSync(root), ['store']);
    assert.deepEqual(tree(dir), []);
  });
});
