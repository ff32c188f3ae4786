// The call table is the one source of truth for recording, replay and the views, so it is
// checked against what it describes: the System and TaskHost interfaces (read from their
// TypeScript declarations: every method, every parameter, its name and type), the ABI (every
// import calls the table's method with the table's arguments), and every call round-trips:
// recorded, then replayed and decoded, on success and on failure.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { GuestMemory, wasiImports } from '../abi/index.js';
import { wtmImports } from '../abi/wtm.js';
import { WASI_SIGNATURES, WTM_SIGNATURES } from '../abi/signatures.js';
import { newFdstat, newFilestat, type Dirent, type Event, type Out, type System, type TaskHost } from '../system/index.js';
import { CALLS, CALL_BY_METHOD, takesOut, type CallSpec, type ParamKind } from './calls.js';
import { decodeRecord } from './describe.js';
import { LogWriter } from './format.js';
import { Recorder } from './recorder.js';
import { Replayer } from './replayer.js';
import { LogFileReader } from './stream.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Each method of an interface: its parameters (name and type text) and its return type text. */
function interfaceMethods(file: string, name: string): Map<string, { params: [string, string][]; returns: string }> {
  const src = ts.createSourceFile(file, readFileSync(path.join(root, file), 'utf8'), ts.ScriptTarget.ES2022, true);
  const out = new Map<string, { params: [string, string][]; returns: string }>();
  src.forEachChild((n) => {
    if (!ts.isInterfaceDeclaration(n) || n.name.text !== name) return;
    for (const m of n.members) {
      if (!ts.isMethodSignature(m) || !ts.isIdentifier(m.name)) continue;
      out.set(m.name.text, {
        params: m.parameters.map((p) => [(p.name as ts.Identifier).text, p.type!.getText()]),
        returns: m.type!.getText(),
      });
    }
  });
  assert.ok(out.size > 0, `no interface ${name} in ${file}`);
  return out;
}

const TYPE_OF_KIND: Record<ParamKind, string[]> = {
  int: ['number'], num: ['number'], big: ['bigint'], str: ['string'],
  data: ['Uint8Array[]'], sizes: ['Uint8Array[]', 'Uint8Array'], subs: ['readonly Subscription[]'],
};
const OUT_TYPE: Record<string, string> = {
  filestat: 'Filestat', fdstat: 'Fdstat', string: 'Out<string>', result: 'Out<string>',
  dirents: 'Out<readonly Dirent[]>', events: 'Event[]', recv: 'Out<number>',
};

describe('the call table', () => {
  const declared = new Map([
    ...interfaceMethods('src/system/system.ts', 'System'),
    ...interfaceMethods('src/system/tasks.ts', 'TaskHost'),
  ]);

  it('has exactly one entry per System and TaskHost method, and unique ids and names', () => {
    assert.deepEqual(CALLS.map((c) => c.method).sort(), [...declared.keys()].sort());
    assert.equal(new Set(CALLS.map((c) => c.wasi)).size, CALLS.length);
    CALLS.forEach((c, i) => { assert.equal(c.id, i); });
  });

  for (const c of CALLS) {
    it(`${c.wasi}: parameters, output and result agree with System.${c.method}`, () => {
      const m = declared.get(c.method)!;
      const params = takesOut(c) ? m.params.slice(0, -1) : m.params;
      assert.deepEqual(c.params.map(([n]) => n), params.map(([n]) => n), 'parameter names, in order');
      c.params.forEach(([n, kind], i) => { assert.ok(TYPE_OF_KIND[kind].includes(params[i]![1]), `${n}: kind ${kind} for type ${params[i]![1]}`); });
      if (takesOut(c)) assert.equal(m.params.at(-1)![1], OUT_TYPE[c.out], 'the out object');
      assert.equal(c.outName === '', c.out === 'none', 'an output has a name');
      const returns = c.result === 'strings' ? 'readonly string[]' : c.result === 'exit' ? 'never' : 'number';
      assert.equal(m.returns, returns);
      if (c.out === 'filled' || c.out === 'recv' || c.out === 'random') assert.ok(c.buffers >= 0, 'the buffers it fills are a parameter');
    });
  }

  it('names every import of the ABI: each calls its method with the table\'s arguments', () => {
    // Every import is called once with small valid arguments over a zeroed memory; a System
    // that notes each call tells which method it reached and with what.
    const seen = new Map<string, { method: string; args: unknown[] }[]>();
    let current = '';
    const note = (method: string) => (...args: unknown[]) => {
      seen.get(current)!.push({ method, args });
      if (method === 'args' || method === 'environ') return [];
      if (method === 'procExit') throw new Error('exit');
      return 0;
    };
    const sys = new Proxy({}, { get: (_t, p) => note(String(p)) }) as System & TaskHost;
    const memory = new WebAssembly.Memory({ initial: 1 });
    const mem = new GuestMemory();
    mem.bind(memory);
    const bytes = new Uint8Array(memory.buffer);
    bytes.set(new TextEncoder().encode('a'), 4096); // a path at 4096, length 1
    const modules = { wasi_snapshot_preview1: [wasiImports(sys, mem), WASI_SIGNATURES], wtm: [wtmImports(sys, mem), WTM_SIGNATURES] } as const;
    for (const [module, [fns, sigs]] of Object.entries(modules)) {
      for (const [name, fn] of Object.entries(fns)) {
        current = module === 'wtm' ? `wtm.${name}` : name;
        seen.set(current, []);
        // Pointers at 4096 (the path 'a'), lengths and counts 1, i64s 0 (two halves: adapter.ts): valid for every call.
        const args = sigs[name]!.params.flatMap((t) => (t === 'i64' ? [0, 0] : [4096]));
        try {
          (fn as (...a: unknown[]) => unknown)(...fixArgs(current, args));
        } catch (e) {
          if ((e as Error).message !== 'exit') throw e;
        }
      }
    }
    for (const c of CALLS) {
      const calls = seen.get(c.wasi);
      assert.ok(calls, `${c.wasi} is provided by the ABI`);
      assert.deepEqual(calls.map((x) => x.method), [c.method], `${c.wasi} calls System.${c.method} once`);
      const args = calls[0]!.args;
      assert.equal(args.length, c.params.length + (takesOut(c) ? 1 : 0), `${c.wasi}: argument count`);
      c.params.forEach(([n, kind], i) => {
        const v = args[i];
        const ok = kind === 'big' ? typeof v === 'bigint' : kind === 'str' ? typeof v === 'string'
          : kind === 'int' || kind === 'num' ? typeof v === 'number'
            : kind === 'sizes' && c.out === 'random' ? v instanceof Uint8Array : Array.isArray(v);
        assert.ok(ok, `${c.wasi}: ${n} (${kind}) got ${typeof v}`);
      });
    }
    // The other imports are halves of a table call (sizes, then the values).
    for (const [name, calls] of seen) {
      if (CALLS.some((c) => c.wasi === name)) continue;
      assert.ok(calls.length <= 1 && calls.every((x) => CALL_BY_METHOD.has(x.method)), `${name} reaches only table calls`);
    }
  });
});

/** Small fixes to the probe's arguments: counts of 1 where a count is expected. */
function fixArgs(name: string, args: unknown[]): unknown[] {
  switch (name) {
    case 'fd_read': case 'fd_write': case 'fd_pread': case 'fd_pwrite': case 'sock_recv': case 'sock_send':
      args[2] = 1; // one iovec at 4096: { buf: 0x61 (the 'a' byte: a small address), len: 0 }
      return args;
    case 'poll_oneoff':
      args[2] = 1; // one subscription
      return args;
    case 'path_open': case 'path_create_directory': case 'path_filestat_get': case 'path_filestat_set_times':
    case 'path_readlink': case 'path_remove_directory': case 'path_unlink_file': case 'path_symlink':
    case 'path_link': case 'path_rename': case 'wtm.task_submit': case 'fd_prestat_dir_name': case 'random_get':
      return args.map((v, i) => (isLength(name, i) ? 1 : v));
    default:
      return args;
  }
}

/** Which i32 arguments of a path call are lengths (set to 1: the path 'a'). */
function isLength(name: string, i: number): boolean {
  const lengths: Record<string, number[]> = {
    path_open: [3], path_create_directory: [2], path_filestat_get: [3], path_filestat_set_times: [3],
    path_readlink: [2, 4], path_remove_directory: [2], path_unlink_file: [2], path_symlink: [1, 4],
    path_link: [3, 6], path_rename: [2, 5], 'wtm.task_submit': [1], fd_prestat_dir_name: [2], random_get: [1],
  };
  return lengths[name]?.includes(i) ?? false;
}

// ---- every call, recorded, then replayed and decoded ----------------------------------

/** Arguments for a call: the live ones (buffers and out objects) and what the log should say. */
function argsFor(c: CallSpec, seed: number): { args: unknown[]; expected: unknown[] } {
  const args: unknown[] = [];
  const expected: unknown[] = [];
  c.params.forEach(([, kind], i) => {
    const k = seed + i;
    switch (kind) {
      case 'int': args.push(k % 2 ? -k : k); break;
      case 'num': args.push(k % 3 === 0 ? 2 ** 40 + k : k % 3 === 1 ? 0.5 + k : -k); break;
      case 'big': args.push(BigInt(k) << 40n); break;
      case 'str': args.push(`p/${k}/é`); break;
      case 'data': args.push([Buffer.from(`hello ${k}`), new Uint8Array(0), Buffer.from('!')]); break;
      case 'sizes': args.push(c.out === 'random' ? new Uint8Array(5 + k) : [new Uint8Array(3), new Uint8Array(0), new Uint8Array(8)]); break;
      case 'subs': args.push([{ userdata: 7n, type: 0, clockId: 1, timeout: 1e9, precision: 0, flags: 1, fd: 0 }]); break;
    }
    if (c.method === 'fdReaddir' && i === 2) args[i] = 4096; // room for every entry (a smaller bufLen keeps those that fit)
    const v = args[i];
    expected.push(kind === 'data' ? Buffer.concat(v as Uint8Array[]) : kind === 'sizes' ? (v instanceof Uint8Array ? v.byteLength : 11) : v);
  });
  if (takesOut(c) || c.out === 'events') args.push(freshOut(c));
  return { args, expected };
}

function freshOut(c: CallSpec): unknown {
  switch (c.out) {
    case 'filestat': return newFilestat();
    case 'fdstat': return newFdstat();
    case 'events': return [] as Event[];
    case 'recv': return { value: 0 };
    case 'dirents': return { value: [] };
    default: return { value: '' };
  }
}

/** What a live System hands back for a call that succeeds: its return value, and it fills the outputs. */
function succeed(c: CallSpec, args: unknown[]): unknown {
  const out = args[c.params.length];
  switch (c.out) {
    case 'filled': case 'recv': {
      const bufs = args[c.buffers] as Uint8Array[];
      let n = 0;
      for (const b of bufs) for (let i = 0; i < b.length && n < 9; i++) b[i] = 0x41 + n++;
      if (c.out === 'recv') (out as Out<number>).value = 1;
      return 9;
    }
    case 'random': (args[c.buffers] as Uint8Array).forEach((_, i, b) => { b[i] = (i * 37) & 0xff; }); return 0;
    case 'filestat': Object.assign(out as object, { dev: 1n, ino: 2n ** 63n, filetype: 4, nlink: 1n, size: 12345n, atim: 5n, mtim: 6n, ctim: 7n }); return 0;
    case 'fdstat': Object.assign(out as object, { filetype: 3, flags: 1, rightsBase: 0x1fffffff, rightsInheriting: 5 }); return 0;
    case 'string': (out as Out<string>).value = '/dir'; return 0;
    case 'result': (out as Out<string>).value = '{"exitCode":0}'; return 0;
    case 'dirents': (out as Out<readonly Dirent[]>).value = [{ next: 1, ino: 9n, type: 3, name: '.' }, { next: 2, ino: 10n, type: 4, name: 'file' }]; return 0;
    case 'events': (out as Event[]).push({ userdata: 7n, error: 0, type: 0, nbytes: 0, flags: 0 }); return 1;
    default: break;
  }
  switch (c.result) {
    case 'strings': return c.method === 'args' ? ['prog', 'x'] : ['A=1'];
    case 'ns': return 1.7e18;
    case 'size': case 'fd': case 'offset': case 'handle': return 42;
    default: return 0;
  }
}

/** What the call's output looked like after the live call (to compare with replay and decode). */
function outputsOf(c: CallSpec, args: unknown[], ret: unknown): unknown {
  const out = args[c.params.length];
  switch (c.out) {
    case 'filled': return Buffer.concat(args[c.buffers] as Uint8Array[]).subarray(0, ret as number);
    case 'recv': return { data: Buffer.concat(args[c.buffers] as Uint8Array[]).subarray(0, ret as number), roflags: (out as Out<number>).value };
    case 'random': return Buffer.from(args[c.buffers] as Uint8Array);
    case 'filestat': case 'fdstat': return { ...(out as object) };
    case 'events': return [...(out as Event[])];
    case 'none': return undefined;
    default: return (out as Out<unknown>).value;
  }
}

const plain = (v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v) : v && typeof v === 'object' && 'data' in v ? { ...(v as object), data: Buffer.from((v as { data: Uint8Array }).data) } : v);

describe('every call round-trips: recorded, replayed and decoded', () => {
  for (const outcome of ['succeeds', 'fails'] as const) {
    for (const c of CALLS) {
      if (outcome === 'fails' && (c.result === 'strings' || c.result === 'exit')) continue;
      it(`${c.wasi} ${outcome}`, () => {
        const { args, expected } = argsFor(c, c.id);
        const failure = c.result === 'errno' ? 8 : -8; // BADF
        const inner = new Proxy({}, {
          get: (_t, p) => (...a: unknown[]) => {
            assert.equal(p, c.method);
            if (c.result === 'exit') throw new Error('exit');
            return outcome === 'succeeds' ? succeed(c, a) : failure;
          },
        }) as System & TaskHost;
        const chunks: Uint8Array[] = [];
        const log = new LogWriter((b) => chunks.push(b.slice()));
        const seenLive: Uint8Array[] = [];
        const rec = new Recorder(inner, log, (payload) => seenLive.push(payload.slice()));
        let ret: unknown;
        try {
          ret = (rec as unknown as Record<string, (...a: unknown[]) => unknown>)[c.method]!(...args);
        } catch (e) {
          assert.equal((e as Error).message, 'exit');
        }
        rec.flush();
        const liveOut = c.result === 'exit' ? undefined : outputsOf(c, args, ret);

        // Decoded: named parameters, result, errno and output, as the views see them.
        const records = [...new LogFileReader(Buffer.concat(chunks)).records()].map((p) => p.slice());
        assert.equal(records.length, 1);
        assert.deepEqual(seenLive.map((b) => Buffer.from(b)), records.map((b) => Buffer.from(b)), 'the live listener saw the record as written');
        const d = decodeRecord(records[0]!);
        assert.equal(d.call, c);
        assert.deepEqual(d.params.map(plain), expected.map(plain));
        if (c.result !== 'exit') assert.deepEqual(d.ret, ret);
        assert.equal(d.errno, outcome === 'succeeds' ? (c.out === 'result' ? 0 : 0) : 8);
        assert.deepEqual(plain(d.out), outcome === 'succeeds' ? plain(liveOut) : undefined);

        // Replayed: the same call with fresh buffers and out objects gets the same result and outputs.
        const fresh = argsFor(c, c.id).args;
        const replayed: string[] = [];
        const replayer = new Replayer(records.values(), { args: ['prog', 'x'], env: ['A=1'] }, {
          stdout: (b) => replayed.push(`1:${Buffer.from(b)}`), stderr: (b) => replayed.push(`2:${Buffer.from(b)}`),
        });
        let again: unknown;
        try {
          again = (replayer as unknown as Record<string, (...a: unknown[]) => unknown>)[c.method]!(...fresh);
        } catch (e) {
          assert.equal(c.result, 'exit', (e as Error).message);
        }
        if (c.result !== 'exit') {
          assert.deepEqual(again, ret);
          assert.deepEqual(plain(outputsOf(c, fresh, again)), outcome === 'succeeds' ? plain(liveOut) : plain(outputsOf(c, argsFor(c, c.id).args, again)));
        }
        assert.ok(replayer.atEnd());
        // Only a write to fd 1 or 2 reproduces output; this one's fd is the table's test value.
        if (c.method === 'fdWrite' && outcome === 'succeeds' && (args[0] === 1 || args[0] === 2)) assert.ok(replayed.length > 0);
        else assert.deepEqual(replayed, []);
      });
    }
  }

  it('fd_write to stdout and stderr is reproduced by replay, in order, cut at the count written', () => {
    const c = CALL_BY_METHOD.get('fdWrite')!;
    const inner = { fdWrite: (_fd: number, iovs: Uint8Array[]) => (iovs[0]!.byteLength === 5 ? 7 : -8) } as unknown as System & TaskHost;
    const chunks: Uint8Array[] = [];
    const log = new LogWriter((b) => chunks.push(b.slice()));
    const rec = new Recorder(inner, log);
    rec.fdWrite(1, [Buffer.from('hello'), Buffer.from(' world')]);
    rec.fdWrite(2, [Buffer.from('x')]);
    rec.flush();
    const records = [...new LogFileReader(Buffer.concat(chunks)).records()].map((p) => p.slice());
    const out: string[] = [];
    const r = new Replayer(records.values(), { args: [], env: [] }, { stdout: (b) => out.push(`1:${Buffer.from(b)}`), stderr: (b) => out.push(`2:${Buffer.from(b)}`) });
    assert.equal(r.fdWrite(1, [Buffer.from('hello'), Buffer.from(' world')]), 7);
    assert.equal(r.fdWrite(2, [Buffer.from('x')]), -8);
    assert.deepEqual(out, ['1:hello', '1: w']);
    assert.equal(decodeRecord(records[1]!).errno, 8);
    assert.equal(c.outName, '');
  });
});
