import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Codec, LogWriter } from '../timemachine/format.js';
import { Registry } from './registry.js';
import type { ProcessRecord } from './process.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));
const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

const dirs: string[] = [];
function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-reg-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const WASM = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const CONFIG = { args: ['prog', 'x'], env: ['A=1'], mounts: [], nested: { b: 1, a: [1, { z: 0, y: null }] } };

/** A registry with one module, one config and one process with a log. */
async function fixture(): Promise<{ reg: Registry; rec: ProcessRecord }> {
  const reg = await Registry.open(tmpdir());
  const moduleDigest = await reg.putModule(WASM);
  const configDigest = await reg.putConfig(CONFIG);
  const rec = await reg.createProcess({ moduleDigest, configDigest, argv: ['prog', 'x'] });
  await reg.appendLog(rec.id, enc('log-part-1;'));
  await reg.appendLog(rec.id, enc('log-part-2'));
  await reg.updateProcess(rec.id, { state: 'exited', exitCode: 3, endTime: new Date().toISOString(), logBytes: 21, calls: 7 });
  return { reg, rec: (await reg.getProcess(rec.id))! };
}

/** A real log (uncompressed, so its strings can be found in an export): two batches of records. */
function realLog(): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const log = new LogWriter((c) => chunks.push(c), { codec: Codec.None, batchBytes: 1 });
  for (const text of ['log-part-1', 'log-part-2']) {
    log.records.beginRecord();
    log.records.string(text);
    log.records.endRecord();
    log.maybeFlush();
  }
  log.flush();
  return chunks;
}

/** As fixture(), with a real log (export checks every batch). */
async function exportFixture(): Promise<{ reg: Registry; rec: ProcessRecord; log: Uint8Array }> {
  const reg = await Registry.open(tmpdir());
  const moduleDigest = await reg.putModule(WASM);
  const configDigest = await reg.putConfig(CONFIG);
  const rec = await reg.createProcess({ moduleDigest, configDigest, argv: ['prog', 'x'] });
  const chunks = realLog();
  for (const c of chunks) await reg.appendLog(rec.id, c);
  await reg.updateProcess(rec.id, { state: 'exited', exitCode: 3, endTime: new Date().toISOString(), logBytes: 21, calls: 7 });
  return { reg, rec: (await reg.getProcess(rec.id))!, log: new Uint8Array(Buffer.concat(chunks)) };
}

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((p) => fs.statSync(path.join(dir, p)).isFile()).sort();
}

describe('Registry.open', () => {
  it('creates the directory, defaulting to $WTM_HOME', async () => {
    const home = path.join(tmpdir(), 'home', 'wtm');
    const saved = process.env.WTM_HOME;
    process.env.WTM_HOME = home;
    try {
      const reg = await Registry.open();
      assert.ok(fs.statSync(home).isDirectory());
      await reg.putModule(WASM);
      assert.equal((await reg.listModules()).length, 1);
    } finally {
      if (saved === undefined) delete process.env.WTM_HOME;
      else process.env.WTM_HOME = saved;
    }
  });
});

describe('Registry modules', () => {
  it('round-trips by sha256 digest and is idempotent', async () => {
    const reg = await Registry.open(tmpdir());
    const d = await reg.putModule(WASM);
    assert.equal(d, sha(WASM));
    assert.equal(await reg.putModule(WASM), d);
    assert.deepEqual(await reg.getModule(d), WASM);
    assert.deepEqual(await reg.listModules(), [d]);
    const other = new Uint8Array([...WASM, 0]);
    const d2 = await reg.putModule(other);
    assert.deepEqual(await reg.listModules(), [d, d2].sort());
    assert.equal(await reg.getModule('0'.repeat(64)), null);
    await assert.rejects(reg.getModule('../x'), /bad module digest/);
  });
});

describe('Registry configs', () => {
  it('dedups by canonical JSON (key order does not matter)', async () => {
    const reg = await Registry.open(tmpdir());
    const a = await reg.putConfig({ x: 1, y: { b: [1, 2], a: 'q' } });
    const b = await reg.putConfig({ y: { a: 'q', b: [1, 2] }, x: 1, gone: undefined });
    assert.equal(a, b);
    assert.equal(a, sha('{"x":1,"y":{"a":"q","b":[1,2]}}'));
    const c = await reg.putConfig({ x: 1, y: { b: [2, 1], a: 'q' } });
    assert.notEqual(a, c);
    assert.deepEqual(await reg.listConfigs(), [a, c].sort());
    assert.deepEqual(await reg.getConfig(a), { x: 1, y: { a: 'q', b: [1, 2] } });
  });

  it('refuses what is not plain JSON', async () => {
    const reg = await Registry.open(tmpdir());
    await assert.rejects(reg.putConfig({ stdin: new Uint8Array(2) }), /not plain JSON at \$\.stdin: Uint8Array/);
    await assert.rejects(reg.putConfig({ n: NaN }), /not plain JSON/);
    await assert.rejects(reg.putConfig([1] as object), /must be a JSON object/);
    assert.deepEqual(await reg.listConfigs(), []);
  });
});

describe('Registry processes', () => {
  it('creates, updates and lists newest first', async () => {
    const reg = await Registry.open(tmpdir());
    const moduleDigest = await reg.putModule(WASM);
    const configDigest = await reg.putConfig(CONFIG);
    const base = { moduleDigest, configDigest, argv: ['p'] };
    const old = await reg.createProcess({ ...base, startTime: '2024-01-01T00:00:00.000Z' });
    const mid = await reg.createProcess({ ...base, startTime: '2024-06-01T00:00:00.000Z', parentId: old.id });
    const now = await reg.createProcess(base);
    assert.match(now.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(now.state, 'running');
    assert.equal(typeof now.wtmVersion, 'string');
    assert.deepEqual((await reg.listProcesses()).map((r) => r.id), [now.id, mid.id, old.id]);

    const upd = await reg.updateProcess(mid.id, { state: 'trapped', trap: 'unreachable', exitCode: 134, endTime: '2024-06-01T00:00:01Z' });
    assert.equal(upd.state, 'trapped');
    assert.deepEqual(await reg.getProcess(mid.id), upd);
    assert.equal(upd.parentId, old.id);

    await assert.rejects(reg.updateProcess(mid.id, { state: 'zombie' as 'exited' }), /state must be one of/);
    await assert.rejects(reg.updateProcess(mid.id, { moduleDigest } as object), /cannot be changed/);
    await assert.rejects(reg.createProcess({ ...base, id: old.id }), /already exists/);
    await assert.rejects(reg.createProcess({ ...base, moduleDigest: '1'.repeat(64) }), /not in the registry/);
    await assert.rejects(reg.getProcess('nope'), /bad process id/);
    assert.equal(await reg.getProcess('00000000-0000-4000-8000-000000000000'), null);
  });

  it('serialises concurrent updates of one record', async () => {
    const { reg, rec } = await fixture();
    await Promise.all(Array.from({ length: 20 }, (_, i) => reg.updateProcess(rec.id, { calls: i })));
    assert.equal((await reg.getProcess(rec.id))!.calls, 19);
  });

  it('resolves unique id and digest prefixes, refuses ambiguous and unknown ones', async () => {
    const reg = await Registry.open(tmpdir());
    const moduleDigest = await reg.putModule(WASM);
    const configDigest = await reg.putConfig(CONFIG);
    const base = { moduleDigest, configDigest, argv: [] };
    const a = '12345678-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
    const b = '12345678-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
    const c = 'abcdef00-0000-4000-8000-000000000000';
    for (const id of [a, b, c]) await reg.createProcess({ ...base, id });
    assert.equal(await reg.resolveProcessId('ab'), c);
    assert.equal(await reg.resolveProcessId('12345678-a'), a);
    assert.equal(await reg.resolveProcessId('12345678-B'), b);
    assert.equal(await reg.resolveProcessId(c), c);
    await assert.rejects(reg.resolveProcessId('1234'), { message: `ambiguous id prefix 1234: matches ${a}, ${b}` });
    await assert.rejects(reg.resolveProcessId('ff'), { message: 'no process ff' });
    await assert.rejects(reg.resolveProcessId('../x'), { message: 'no process ../x' });

    assert.equal(await reg.resolveModuleDigest(moduleDigest.slice(0, 6)), moduleDigest);
    assert.equal(await reg.resolveModuleDigest('sha256:' + moduleDigest.slice(0, 6)), moduleDigest);
    // Find a second module whose digest shares the first hex digit with the first one.
    let other: string;
    for (let i = 0; ; i++) {
      const bytes = enc(`module ${i}`);
      if (sha(bytes)[0] === moduleDigest[0]) {
        other = await reg.putModule(bytes);
        break;
      }
    }
    const both = [moduleDigest, other].sort().join(', ');
    await assert.rejects(reg.resolveModuleDigest(moduleDigest[0]), { message: `ambiguous digest prefix ${moduleDigest[0]}: matches ${both}` });
    const missing = [...'0123456789abcdef'].find((h) => h !== moduleDigest[0])!;
    await assert.rejects(reg.resolveModuleDigest(missing), { message: `no module ${missing}` });
  });

  it('deletes a process with its log', async () => {
    const { reg, rec } = await fixture();
    assert.equal(await reg.deleteProcess(rec.id), true);
    assert.equal(await reg.getProcess(rec.id), null);
    assert.equal(await reg.readLog(rec.id), null);
    assert.deepEqual(await reg.listProcesses(), []);
    assert.equal(await reg.deleteProcess(rec.id), false);
    assert.equal((await reg.listModules()).length, 1, 'modules are shared and stay');
  });
});

describe('Registry logs', () => {
  it('appends, reads, streams and sizes', async () => {
    const { reg, rec } = await fixture();
    assert.equal(dec(await reg.readLog(rec.id)), 'log-part-1;log-part-2');
    assert.equal(await reg.logSize(rec.id), 21);
    const parts: Uint8Array[] = [];
    for await (const c of (await reg.streamLog(rec.id))!) parts.push(c);
    assert.equal(Buffer.concat(parts).toString(), 'log-part-1;log-part-2');
    const none = '00000000-0000-4000-8000-000000000000';
    assert.equal(await reg.readLog(none), null);
    assert.equal(await reg.logSize(none), 0);
    await assert.rejects(reg.appendLog('../../etc', enc('x')), /bad process id/);
  });
});

describe('Registry export/import', () => {
  it('round-trips a process into a second registry', async () => {
    const { reg, rec, log } = await exportFixture();
    const file = await reg.exportProcess(rec.id);
    assert.equal(new DataView(file.buffer, file.byteOffset).getUint32(8, true), 2, 'version 2');
    const dst = await Registry.open(tmpdir());
    assert.equal(await dst.importProcess(file), rec.id);
    assert.deepEqual(await dst.getProcess(rec.id), rec);
    assert.deepEqual(await dst.getModule(rec.moduleDigest), WASM);
    assert.deepEqual(await dst.getConfig(rec.configDigest), await reg.getConfig(rec.configDigest));
    assert.deepEqual(await dst.readLog(rec.id), log);
    await assert.rejects(dst.importProcess(file), /already exists/);
    // The export of the import is the same file.
    assert.deepEqual(await dst.exportProcess(rec.id), file);
    // From a file on disk, read piece by piece.
    const onDisk = path.join(tmpdir(), 'p.wtm');
    fs.writeFileSync(onDisk, file);
    const third = await Registry.open(tmpdir());
    assert.equal(await third.importFile(onDisk), rec.id);
    assert.deepEqual(await third.readLog(rec.id), log);
  });

  it('still reads version 1 files (no log digest)', async () => {
    const { reg, rec, log } = await exportFixture();
    const v2 = Buffer.from(await reg.exportProcess(rec.id));
    // Version 1 is version 2 without the LSHA section (12 + 32 bytes before SHA2).
    const lsha = v2.indexOf('LSHA', v2.length - 100);
    const v1 = Buffer.concat([v2.subarray(0, lsha), v2.subarray(lsha + 44)]);
    v1.writeUInt32LE(1, 8);
    createHash('sha256').update(v1.subarray(0, v1.length - 44)).digest().copy(v1, v1.length - 32);
    const dst = await Registry.open(tmpdir());
    assert.equal(await dst.importProcess(new Uint8Array(v1)), rec.id);
    assert.deepEqual(await dst.readLog(rec.id), log);
  });

  it('refuses tampered or malformed files and writes nothing', async () => {
    const { reg, rec } = await exportFixture();
    const file = await reg.exportProcess(rec.id);
    const dstDir = tmpdir();
    const dst = await Registry.open(dstDir);
    const before = tree(dstDir);

    /** Fixes up the file checksum (over all bytes before the 12-byte SHA2 header and its 32-byte sum). */
    const fixSum = (b: Buffer) => createHash('sha256').update(b.subarray(0, b.length - 44)).digest().copy(b, b.length - 32);
    /** Replaces `from` by `to` (same length) in the file and, when asked, fixes up the checksum. */
    function tamper(from: string, to: string, fix: boolean): Uint8Array {
      const b = Buffer.from(file);
      const at = b.indexOf(from);
      assert.ok(at > 0, `fixture contains ${from}`);
      b.write(to, at);
      if (fix) fixSum(b);
      return new Uint8Array(b);
    }
    // The log changed and its digest (LSHA) recomputed too: the batch checksum still tells.
    const relog = Buffer.from(tamper('log-part-2', 'log-part-X', false));
    const plog = relog.indexOf('PLOG');
    const logLen = Number(relog.readBigUInt64LE(plog + 4));
    createHash('sha256').update(relog.subarray(plog + 12, plog + 12 + logLen)).digest().copy(relog, plog + 12 + logLen + 12);
    fixSum(relog);
    const cases: [Uint8Array, RegExp][] = [
      [tamper('log-part-2', 'log-part-X', false), /log is corrupt: batch 1 .*checksum mismatch|checksum mismatch \(file/],
      [tamper('log-part-2', 'log-part-X', true), /log is corrupt: batch 1 .*checksum mismatch|log digest mismatch/],
      [new Uint8Array(relog), /log is corrupt: batch 1 .*checksum mismatch/],
      [tamper('"args":["prog","x"]', '"args":["prog","y"]', true), /config digest mismatch/],
      [tamper('"argv":["prog","x"]', '"argv":["prog",7  ]', true), /argv must be an array of at most 65536 strings/],
      [tamper('"state":"exited"', '"state":"zombie"', true), /state must be one of/],
      [tamper(rec.id, rec.id.slice(0, 14) + '5' + rec.id.slice(15), true), /id must be a lowercase UUID v4/],
      [file.subarray(0, file.length - 40), /truncated|longer than the file/],
      [new Uint8Array([...file, 0]), /unexpected bytes after the checksum/],
      [enc('not an export at all'), /bad magic/],
      [new Uint8Array(0), /bad magic/],
    ];
    // Tamper with the module bytes (the last byte of WASM sits right before "PLOG").
    const m = Buffer.from(file);
    m[m.indexOf('PLOG') - 1] ^= 1;
    fixSum(m);
    cases.push([new Uint8Array(m), /module digest mismatch/]);
    // A log digest that does not match an intact log.
    const d = Buffer.from(file);
    d[d.indexOf('LSHA', d.length - 100) + 12] ^= 1;
    fixSum(d);
    cases.push([new Uint8Array(d), /log digest mismatch/]);

    for (const [bytes, re] of cases) {
      await assert.rejects(dst.importProcess(bytes), (e: Error) => {
        assert.match(e.message, re);
        assert.ok(!e.message.includes('\n'), 'one line');
        return true;
      });
    }
    assert.deepEqual(tree(dstDir), before, 'nothing written');
    assert.deepEqual(await dst.listProcesses(), []);
    assert.deepEqual(await dst.listModules(), []);
    assert.deepEqual(await dst.listConfigs(), []);
  });

  it('export checks the module, the config and every log batch, and streams', async () => {
    const { reg, rec } = await exportFixture();
    const home = (reg.store as unknown as { root: string }).root;
    // A corrupt log batch.
    const logFile = path.join(home, 'blobs', 'logs', rec.id);
    const good = fs.readFileSync(logFile);
    const bad = Buffer.from(good);
    bad[bad.indexOf('log-part-2')] ^= 1;
    fs.writeFileSync(logFile, bad);
    await assert.rejects(reg.exportProcess(rec.id), /^Error: cannot export process .*: log is corrupt: batch 1 at byte offset \d+: checksum mismatch/);
    fs.writeFileSync(logFile, good);
    // A corrupt module blob.
    const modFile = path.join(home, 'blobs', 'modules', 'sha256', rec.moduleDigest);
    fs.writeFileSync(modFile, Buffer.from([...WASM, 0]));
    await assert.rejects(reg.exportProcess(rec.id), new RegExp(`module sha256:${rec.moduleDigest} is corrupt: its bytes hash to sha256:[0-9a-f]{64}`));
    await assert.rejects(reg.getModule(rec.moduleDigest), /is corrupt/);
    fs.writeFileSync(modFile, WASM);
    // A config whose canonical JSON no longer hashes to its name.
    const confFile = path.join(home, 'records', 'config', `${rec.configDigest}.json`);
    fs.writeFileSync(confFile, JSON.stringify({ ...CONFIG, args: ['other'] }));
    await assert.rejects(reg.exportProcess(rec.id), new RegExp(`config sha256:${rec.configDigest} is corrupt`));
  });
});

describe('Registry.scanProcesses', () => {
  it('skips a corrupt record, saying why, and lists the others', async () => {
    const { reg, rec } = await fixture();
    const other = await reg.createProcess({ moduleDigest: rec.moduleDigest, configDigest: rec.configDigest, argv: ['b'] });
    const third = await reg.createProcess({ moduleDigest: rec.moduleDigest, configDigest: rec.configDigest, argv: ['c'] });
    const home = (reg.store as unknown as { root: string }).root;
    fs.writeFileSync(path.join(home, 'records', 'process', `${other.id}.json`), '{"id": ');
    const stored = JSON.parse(fs.readFileSync(path.join(home, 'records', 'process', `${third.id}.json`), 'utf8'));
    fs.writeFileSync(path.join(home, 'records', 'process', `${third.id}.json`), JSON.stringify({ ...stored, state: 'zombie' }));
    const { records, skipped } = await reg.scanProcesses();
    assert.deepEqual(records.map((r) => r.id), [rec.id]);
    assert.deepEqual(skipped.map((s) => s.id).sort(), [other.id, third.id].sort());
    assert.equal(skipped.find((s) => s.id === other.id)!.why, 'not JSON');
    assert.match(skipped.find((s) => s.id === third.id)!.why, /^state must be one of/);
    assert.deepEqual((await reg.listProcesses()).map((r) => r.id), [rec.id]);
  });
});
