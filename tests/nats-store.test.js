// The ObjectStore contract (src/registry/store.ts), run against the local directory store and
// against NatsStore on a real nats-server (tests/nats-server.js).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalStore, NatsStore } from '../dist/internal.js';
import { natsMissing, startNats } from './nats-server.js';

const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => (b === null ? null : new TextDecoder().decode(b));
async function text(it) {
  const parts = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-conf-'));

/** The contract every store keeps. `open()` gives a fresh, empty store. */
function conformance(name, open, opts = {}) {
  describe(`ObjectStore contract: ${name}`, { skip: opts.skip }, () => {
    let s;
    before(async () => {
      s = await open();
    });
    after(async () => {
      await s?.close?.();
    });

    it('records: put, get, replace, list by prefix, delete', async () => {
      await s.putRecord('thing', 'b', { n: 2 });
      await s.putRecord('thing', 'a', { n: 1 });
      await s.putRecord('thing', 'dir/a.b', { n: 3 });
      await s.putRecord('thing.x', 'a', { n: 4 });
      await s.putRecord('other', 'a', { n: 9 });
      assert.deepEqual(await s.getRecord('thing', 'a'), { n: 1 });
      assert.equal(await s.getRecord('thing', 'zz'), null);
      assert.deepEqual(await s.listRecords('thing'), ['a', 'b', 'dir/a.b']);
      assert.deepEqual(await s.listRecords('thing', 'di'), ['dir/a.b']);
      assert.deepEqual(await s.listRecords('thing', 'dir/a'), ['dir/a.b']);
      assert.deepEqual(await s.listRecords('thing.x'), ['a']);
      assert.deepEqual(await s.listRecords('nothing'), []);
      await s.putRecord('thing', 'a', { n: 10 });
      assert.deepEqual(await s.getRecord('thing', 'a'), { n: 10 });
      assert.equal(await s.deleteRecord('thing', 'a'), true);
      assert.equal(await s.deleteRecord('thing', 'a'), false);
      assert.equal(await s.getRecord('thing', 'a'), null);
      assert.deepEqual(await s.listRecords('thing'), ['b', 'dir/a.b']);
    });

    it('refuses bad keys and kinds before touching storage', async () => {
      await assert.rejects(s.putRecord('a/b', 'x', {}), /record kind/);
      await assert.rejects(s.putRecord('k', '../x', {}), /bad key/);
      await assert.rejects(s.getRecord('k', 'A'), /bad key/);
      await assert.rejects(s.putBlob('/abs', enc('x')), /bad key/);
      await assert.rejects(s.appendBlob('logs/a b', enc('x')), /bad key/);
    });

    for (const base of ['x', 'logs']) {
      it(`blobs under ${base}/: put bytes and streams, read whole and streamed, size, list, delete`, async () => {
        await s.putBlob(`${base}/one`, enc('hello'));
        async function* chunks() {
          yield enc('a'.repeat(70000));
          yield enc('b');
        }
        await s.putBlob(`${base}/two`, chunks());
        assert.equal(dec(await s.readBlob(`${base}/one`)), 'hello');
        const stream = await s.getBlob(`${base}/two`);
        assert.ok(stream);
        assert.equal(await text(stream), 'a'.repeat(70000) + 'b');
        assert.equal(await s.getBlob(`${base}/none`), null);
        assert.equal(await s.readBlob(`${base}/none`), null);
        assert.equal(await s.hasBlob(`${base}/one`), true);
        assert.equal(await s.hasBlob(base), false, 'a prefix is not a blob');
        assert.equal(await s.blobSize(`${base}/two`), 70001);
        assert.equal(await s.blobSize(`${base}/none`), null);
        assert.deepEqual((await s.listBlobs(`${base}/`)).filter((k) => k.startsWith(`${base}/`)), [`${base}/one`, `${base}/two`]);
        assert.deepEqual(await s.listBlobs(`${base}/t`), [`${base}/two`]);
        assert.deepEqual(await s.listBlobs('nothing/'), []);
        await s.putBlob(`${base}/one`, enc('replaced'));
        assert.equal(dec(await s.readBlob(`${base}/one`)), 'replaced');
        assert.equal(await s.deleteBlob(`${base}/one`), true);
        assert.equal(await s.deleteBlob(`${base}/one`), false);
        assert.equal(await s.readBlob(`${base}/one`), null);
        await s.deleteBlob(`${base}/two`);
      });

      it(`blobs under ${base}/: append, grow, truncate, replace after appends, empty blobs`, async () => {
        const k = `${base}/grow.log`;
        await s.appendBlob(k, enc('ab'));
        await s.appendBlob(k, enc('cd'));
        await s.appendBlob(k, new Uint8Array(0));
        assert.equal(dec(await s.readBlob(k)), 'abcd');
        assert.equal(await s.blobSize(k), 4);
        const big = 'x'.repeat(3 * 1024 * 1024 + 17);
        await s.appendBlob(k, enc(big));
        assert.equal(await s.blobSize(k), 4 + big.length);
        assert.equal(await text(await s.getBlob(k)), 'abcd' + big);
        await s.truncateBlob(k, 3);
        assert.equal(dec(await s.readBlob(k)), 'abc');
        await s.appendBlob(k, enc('Z'));
        assert.equal(dec(await s.readBlob(k)), 'abcZ');
        await s.putBlob(k, enc('new'));
        await s.appendBlob(k, enc('+'));
        assert.equal(dec(await s.readBlob(k)), 'new+');
        await s.putBlob(`${base}/empty`, new Uint8Array(0));
        assert.equal(await s.blobSize(`${base}/empty`), 0);
        assert.equal(dec(await s.readBlob(`${base}/empty`)), '');
        assert.equal(await text(await s.getBlob(`${base}/empty`)), '');
      });

      it(`blobs under ${base}/: a stream that fails midway leaves the old blob`, async () => {
        const k = `${base}/failing`;
        await s.putBlob(k, enc('old'));
        async function* bad() {
          yield enc('y'.repeat(2 * 1024 * 1024));
          throw new Error('source broke');
        }
        await assert.rejects(s.putBlob(k, bad()), /source broke/);
        assert.equal(dec(await s.readBlob(k)), 'old');
      });
    }

    it('a large blob round-trips byte for byte', async () => {
      const bytes = new Uint8Array(5 * 1024 * 1024 + 3);
      for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 255;
      const hex = createHash('sha256').update(bytes).digest('hex');
      await s.putBlob(`modules/sha256/${hex}`, bytes);
      const back = await s.readBlob(`modules/sha256/${hex}`);
      assert.equal(createHash('sha256').update(back).digest('hex'), hex);
      const again = await s.readBlob(`modules/sha256/${hex}`); // from the cache, where there is one
      assert.equal(again.byteLength, bytes.byteLength);
    });
  });
}

conformance('LocalStore', async () => LocalStore.open(tmp()));

let server = null;
if (!natsMissing) {
  before(async () => {
    server = await startNats();
  });
  after(async () => {
    await server?.stop();
  });
}
conformance('NatsStore', async () => NatsStore.open(server.url, { cacheDir: tmp() }), { skip: natsMissing });

describe('NatsStore specifics', { skip: natsMissing }, () => {
  it('two writers appending to one log never interleave or lose a part', async () => {
    const a = await NatsStore.open(server.url);
    const b = await NatsStore.open(server.url);
    try {
      const k = 'logs/two-writers';
      const writes = [];
      for (let i = 0; i < 20; i++) writes.push(a.appendBlob(k, enc(`a${i};`)), b.appendBlob(k, enc(`b${i};`)));
      await Promise.all(writes);
      const got = dec(await a.readBlob(k)).split(';').filter(Boolean);
      assert.equal(got.length, 40);
      assert.equal(new Set(got).size, 40);
      assert.equal(await b.blobSize(k), got.join(';').length + 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('readRecords reads every record of a kind at once', async () => {
    const s = await NatsStore.open(server.url);
    try {
      for (let i = 0; i < 50; i++) await s.putRecord('bulk', `k${i}`, { i });
      await s.deleteRecord('bulk', 'k3');
      const all = await s.readRecords('bulk');
      assert.equal(all.size, 49);
      assert.deepEqual(all.get('k7'), { i: 7 });
      assert.equal((await s.readRecords('none')).size, 0);
    } finally {
      await s.close();
    }
  });

  it('an unreachable server or a bad URL is a one-line error within seconds', async () => {
    const t0 = Date.now();
    await assert.rejects(NatsStore.open('nats://127.0.0.1:1'), /cannot reach the NATS server at nats:\/\/127\.0\.0\.1:1: connection refused/);
    await assert.rejects(NatsStore.open('nats://'), /bad NATS URL/);
    await assert.rejects(NatsStore.open('nats://h:4222/path'), /bad NATS URL/);
    assert.ok(Date.now() - t0 < 5000);
  });

  it('records and logs acknowledged before the server restarts are all there after it', async () => {
    const s = await NatsStore.open(server.url);
    try {
      for (let i = 0; i < 100; i++) {
        await s.putRecord('durable', `r${i}`, { i });
        await s.appendBlob('logs/durable', enc(`${i},`));
      }
      await server.restart('SIGKILL');
      const t = Date.now();
      let n = null;
      while (n === null && Date.now() - t < 30000) {
        try {
          n = (await s.listRecords('durable')).length;
        } catch {
          await new Promise((r) => setTimeout(r, 200)); // reconnecting
        }
      }
      assert.equal(n, 100);
      assert.equal(dec(await s.readBlob('logs/durable')), Array.from({ length: 100 }, (_, i) => `${i},`).join(''));
      await s.appendBlob('logs/durable', enc('after'));
      assert.ok(dec(await s.readBlob('logs/durable')).endsWith('99,after'));
    } finally {
      await s.close();
    }
  });
});
