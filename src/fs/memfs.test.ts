import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errno, Filetype, FstFlags, newFilestat, type Dirent, type Filestat, type Out } from '../system/index.js';
import { MemFs, memfsFromTree } from './memfs.js';
import { OpenFlags, type Dir, type File } from './types.js';

const { READ, WRITE, CREATE, EXCL, TRUNC, DIRECTORY, APPEND } = OpenFlags;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A MemFs with a controllable clock: every call to now() returns the current value. */
function clocked(start = 1_000_000_000_000_000_000n): { fs: MemFs; tick: (ns?: bigint) => bigint } {
  let t = start;
  const fs = new MemFs({ now: () => t });
  return { fs, tick: (ns = 1000n) => (t += ns) };
}

function root(tree = {}): Dir {
  return memfsFromTree(tree).openRoot();
}

function st(dir: Dir, name: string): Filestat {
  const out = newFilestat();
  assert.equal(dir.lstat(name, out), 0, `lstat ${name}`);
  return out;
}

function fstat(h: Dir | File): Filestat {
  const out = newFilestat();
  assert.equal(h.stat(out), 0);
  return out;
}

function asDir(h: Dir | File | number): Dir {
  assert.notEqual(typeof h, 'number', `expected a handle, got errno ${String(h)}`);
  assert.equal((h as Dir).kind, 'dir');
  return h as Dir;
}

function asFile(h: Dir | File | number): File {
  assert.notEqual(typeof h, 'number', `expected a handle, got errno ${String(h)}`);
  assert.equal((h as File).kind, 'file');
  return h as File;
}

function names(dir: Dir): string[] {
  const out: Out<Dirent[]> = { value: [] };
  assert.equal(dir.readdir(out), 0);
  return out.value.map((d) => d.name);
}

function read(dir: Dir, name: string): string {
  const f = asFile(dir.open(name, READ));
  const buf = new Uint8Array(Number(fstat(f).size));
  assert.equal(f.pread(buf, 0), buf.length);
  f.close();
  return dec(buf);
}

describe('MemFs', () => {
  it('describes itself and opens its root', () => {
    const fs = new MemFs();
    assert.equal(fs.description, 'memory');
    const r = asDir(fs.openRoot());
    const s = fstat(r);
    assert.equal(s.filetype, Filetype.DIRECTORY);
    assert.equal(s.nlink, 2n);
    assert.equal(s.dev, fs.dev);
    assert.notEqual(new MemFs().dev, fs.dev);
    assert.ok(s.mtim > 1_600_000_000_000_000_000n, 'realtime in ns');
  });

  it('builds a tree with files, bytes, directories and symlinks', () => {
    const r = root({ 'a.txt': 'hello', 'b.bin': new Uint8Array([1, 2, 3]), d: { e: { 'f.txt': 'F' } }, l: { symlink: 'a.txt' } });
    assert.deepEqual(names(r), ['a.txt', 'b.bin', 'd', 'l']);
    assert.equal(read(r, 'a.txt'), 'hello');
    assert.equal(st(r, 'b.bin').size, 3n);
    const d = asDir(r.openDir('d'));
    const e = asDir(d.openDir('e'));
    assert.equal(read(e, 'f.txt'), 'F');
    assert.equal(st(r, 'l').filetype, Filetype.SYMBOLIC_LINK);
    assert.throws(() => memfsFromTree({ 'a/b': 'x' }), /a\/b/);
  });

  it('gives unique inode numbers and shares them across hard links', () => {
    const r = root({ a: '1', b: '2', d: {} });
    const inos = new Set([st(r, '.').ino, st(r, 'a').ino, st(r, 'b').ino, st(r, 'd').ino]);
    assert.equal(inos.size, 4);
    assert.equal(r.link('a', r, 'a2'), 0);
    assert.equal(st(r, 'a2').ino, st(r, 'a').ino);
  });
});

describe('names', () => {
  it('guards against / and .., refuses empty and overlong names', () => {
    const r = root({ a: 'x' });
    const out = newFilestat();
    assert.equal(r.lstat('..', out), Errno.INVAL);
    assert.equal(r.lstat('a/b', out), Errno.INVAL);
    assert.equal(r.mkdir('x/y'), Errno.INVAL);
    assert.equal(r.open('..', READ), -Errno.INVAL);
    assert.equal(r.openDir('..'), -Errno.INVAL);
    assert.equal(r.rename('a', r, '..'), Errno.INVAL);
    assert.equal(r.link('a', r, 'b/c'), Errno.INVAL);
    assert.equal(r.lstat('', out), Errno.NOENT);
    assert.equal(r.mkdir('n'.repeat(256)), Errno.NAMETOOLONG);
    assert.equal(r.mkdir('n'.repeat(255)), 0);
    assert.equal(r.mkdir('é'.repeat(128)), Errno.NAMETOOLONG); // 256 bytes
  });
});

describe('Dir.lstat / stat', () => {
  it('stats entries without following links, and the directory as .', () => {
    const r = root({ f: 'abc', d: { x: {} }, l: { symlink: 'f' } });
    const f = st(r, 'f');
    assert.equal(f.filetype, Filetype.REGULAR_FILE);
    assert.equal(f.size, 3n);
    assert.equal(f.nlink, 1n);
    const l = st(r, 'l');
    assert.equal(l.filetype, Filetype.SYMBOLIC_LINK);
    assert.equal(l.size, 1n);
    assert.equal(st(r, 'd').nlink, 3n);
    assert.equal(st(r, '.').nlink, 3n);
    assert.deepEqual(st(r, '.'), fstat(r));
    assert.equal(r.lstat('missing', newFilestat()), Errno.NOENT);
  });

  it('sizes a symlink in UTF-8 bytes', () => {
    const r = root({ l: { symlink: 'é' } });
    assert.equal(st(r, 'l').size, 2n);
  });
});

describe('Dir.openDir', () => {
  it('opens subdirectories and . ; LOOP on a symlink, NOTDIR on a file, NOENT if missing', () => {
    const r = root({ d: { f: '' }, f: '', l: { symlink: 'd' } });
    assert.deepEqual(names(asDir(r.openDir('d'))), ['f']);
    assert.deepEqual(names(asDir(r.openDir('.'))), ['d', 'f', 'l']);
    assert.equal(r.openDir('l'), -Errno.LOOP);
    assert.equal(r.openDir('f'), -Errno.NOTDIR);
    assert.equal(r.openDir('x'), -Errno.NOENT);
  });
});

describe('Dir.open', () => {
  it('creates a missing file with CREATE, NOENT without', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    const before = fstat(r);
    assert.equal(r.open('n', READ), -Errno.NOENT);
    const t = tick();
    const f = asFile(r.open('n', CREATE | WRITE));
    const s = st(r, 'n');
    assert.equal(s.filetype, Filetype.REGULAR_FILE);
    assert.equal(s.size, 0n);
    assert.equal(s.nlink, 1n);
    assert.deepEqual([s.atim, s.mtim, s.ctim], [t, t, t]);
    const after = fstat(r);
    assert.equal(after.mtim, t);
    assert.equal(after.ctim, t);
    assert.ok(after.mtim > before.mtim);
    f.close();
  });

  it('opens an existing file with CREATE (no EXCL) without changing it', () => {
    const r = root({ f: 'keep' });
    asFile(r.open('f', CREATE | WRITE)).close();
    assert.equal(read(r, 'f'), 'keep');
  });

  it('CREATE|EXCL: EXIST for a file, a directory, a symlink and .', () => {
    const r = root({ f: '', d: {}, l: { symlink: 'nowhere' } });
    for (const n of ['f', 'd', 'l', '.']) assert.equal(r.open(n, CREATE | EXCL | WRITE), -Errno.EXIST, n);
    asFile(r.open('new', CREATE | EXCL | WRITE)).close();
  });

  it('LOOP on a symlink whatever the flags', () => {
    const r = root({ l: { symlink: 'd' }, d: {} });
    for (const flags of [READ, WRITE, READ | DIRECTORY, CREATE | WRITE, TRUNC | WRITE, APPEND | WRITE]) {
      assert.equal(r.open('l', flags), -Errno.LOOP, String(flags));
    }
  });

  it('opens a directory as a Dir; ISDIR for WRITE, TRUNC or CREATE on it', () => {
    const r = root({ d: { x: '' } });
    assert.deepEqual(names(asDir(r.open('d', READ))), ['x']);
    assert.deepEqual(names(asDir(r.open('d', READ | DIRECTORY))), ['x']);
    asDir(r.open('.', READ));
    assert.equal(r.open('d', WRITE), -Errno.ISDIR);
    assert.equal(r.open('d', READ | WRITE), -Errno.ISDIR);
    assert.equal(r.open('d', WRITE | TRUNC), -Errno.ISDIR);
    // TRUNC without WRITE is INVAL before anything, as hostfs answers (conformance.test.ts).
    assert.equal(r.open('d', READ | TRUNC), -Errno.INVAL);
    assert.equal(r.open('d', CREATE | READ), -Errno.ISDIR);
    assert.equal(r.open('.', WRITE), -Errno.ISDIR);
  });

  it('DIRECTORY on a file: NOTDIR; CREATE|DIRECTORY: INVAL', () => {
    const r = root({ f: '' });
    assert.equal(r.open('f', READ | DIRECTORY), -Errno.NOTDIR);
    assert.equal(r.open('g', CREATE | DIRECTORY), -Errno.INVAL);
  });

  it('TRUNC empties a file and updates mtim/ctim; TRUNC without WRITE is refused', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    asFile(r.open('f', CREATE | WRITE)).pwrite(enc('content'), 0, false);
    assert.equal(r.open('f', READ | TRUNC), -Errno.INVAL);
    assert.equal(read(r, 'f'), 'content');
    const t = tick();
    const f = asFile(r.open('f', WRITE | TRUNC));
    const s = fstat(f);
    assert.equal(s.size, 0n);
    assert.equal(s.mtim, t);
    assert.equal(s.ctim, t);
    // Grown again, the old bytes do not come back.
    assert.equal(f.truncate(4), 0);
    assert.equal(read(r, 'f'), '\0\0\0\0');
  });

  it('access modes: BADF for reading a write-only handle and writing a read-only one', () => {
    const r = root({ f: 'abc' });
    const buf = new Uint8Array(3);
    const ro = asFile(r.open('f', READ));
    assert.equal(ro.pwrite(enc('x'), 0, false), -Errno.BADF);
    assert.equal(ro.truncate(0), Errno.INVAL);
    assert.equal(ro.allocate(0, 10), Errno.BADF);
    const wo = asFile(r.open('f', WRITE));
    assert.equal(wo.pread(buf, 0), -Errno.BADF);
    const rw = asFile(r.open('f', READ | WRITE));
    assert.equal(rw.pwrite(enc('X'), 0, false), 1);
    assert.equal(rw.pread(buf, 0), 3);
    assert.equal(dec(buf), 'Xbc');
    const none = asFile(r.open('f', 0)); // neither flag is O_RDONLY
    assert.equal(none.pread(buf, 0), 3);
  });
});

describe('Dir.readlink / symlink', () => {
  it('reads a link target; INVAL on anything else; NOENT if missing', () => {
    const r = root({ l: { symlink: '../x/y' }, f: '', d: {} });
    const out = { value: '' };
    assert.equal(r.readlink('l', out), 0);
    assert.equal(out.value, '../x/y');
    assert.equal(r.readlink('f', out), Errno.INVAL);
    assert.equal(r.readlink('d', out), Errno.INVAL);
    assert.equal(r.readlink('.', out), Errno.INVAL);
    assert.equal(r.readlink('m', out), Errno.NOENT);
  });

  it('symlink: EXIST on any existing name (dangling link too), NOENT for an empty target', () => {
    const r = root({ f: '', l: { symlink: 'gone' } });
    assert.equal(r.symlink('t', 'f'), Errno.EXIST);
    assert.equal(r.symlink('t', 'l'), Errno.EXIST);
    assert.equal(r.symlink('t', '.'), Errno.EXIST);
    assert.equal(r.symlink('', 'n'), Errno.NOENT);
    assert.equal(r.symlink('x'.repeat(4096), 'n'), Errno.NAMETOOLONG);
    assert.equal(r.symlink('/abs/path', 'n'), 0);
    const out = { value: '' };
    r.readlink('n', out);
    assert.equal(out.value, '/abs/path');
  });
});

describe('Dir.mkdir / rmdir', () => {
  it('mkdir creates an empty directory and counts links', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    const t = tick();
    assert.equal(r.mkdir('d'), 0);
    const s = st(r, 'd');
    assert.equal(s.filetype, Filetype.DIRECTORY);
    assert.equal(s.nlink, 2n);
    assert.equal(s.mtim, t);
    assert.equal(fstat(r).nlink, 3n);
    assert.equal(fstat(r).mtim, t);
    assert.deepEqual(names(asDir(r.openDir('d'))), []);
    r.open('f', CREATE | WRITE);
    assert.equal(fstat(r).nlink, 3n, 'files do not count');
  });

  it('mkdir: EXIST for a file, a directory, a symlink or .', () => {
    const r = root({ f: '', d: {}, l: { symlink: 'x' } });
    for (const n of ['f', 'd', 'l', '.']) assert.equal(r.mkdir(n), Errno.EXIST, n);
  });

  it('rmdir removes an empty directory', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    r.mkdir('d');
    const t = tick();
    assert.equal(r.rmdir('d'), 0);
    assert.equal(r.lstat('d', newFilestat()), Errno.NOENT);
    assert.equal(fstat(r).nlink, 2n);
    assert.equal(fstat(r).mtim, t);
  });

  it('rmdir: NOTEMPTY, NOTDIR (file or symlink to a dir), INVAL for ., NOENT', () => {
    const r = root({ d: { f: '' }, f: '', e: {}, l: { symlink: 'e' } });
    assert.equal(r.rmdir('d'), Errno.NOTEMPTY);
    assert.equal(r.rmdir('f'), Errno.NOTDIR);
    assert.equal(r.rmdir('l'), Errno.NOTDIR);
    assert.equal(r.rmdir('.'), Errno.INVAL);
    assert.equal(r.rmdir('m'), Errno.NOENT);
  });

  it('a handle on a removed directory: nlink 0, NOENT for creations, lists as empty', () => {
    const r = root({ d: {}, f: '' });
    const d = asDir(r.openDir('d'));
    assert.equal(r.rmdir('d'), 0);
    assert.equal(fstat(d).nlink, 0n);
    assert.equal(st(d, '.').nlink, 0n);
    assert.equal(d.mkdir('x'), Errno.NOENT);
    assert.equal(d.symlink('t', 'x'), Errno.NOENT);
    assert.equal(d.open('x', CREATE | WRITE), -Errno.NOENT);
    assert.equal(r.link('f', d, 'x'), Errno.NOENT);
    assert.equal(r.rename('f', d, 'x'), Errno.NOENT);
    assert.deepEqual(names(d), []);
    assert.equal(d.lstat('x', newFilestat()), Errno.NOENT);
    assert.equal(d.mkdir('.'), Errno.EXIST);
    assert.equal(st(r, 'f').nlink, 1n, 'failed link left the file alone');
  });
});

describe('Dir.unlink', () => {
  it('removes a file; an open handle still works; nlink and ctim change', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    const f = asFile(r.open('f', CREATE | READ | WRITE));
    f.pwrite(enc('data'), 0, false);
    r.link('f', r, 'g');
    const t = tick();
    assert.equal(r.unlink('f'), 0);
    assert.equal(r.lstat('f', newFilestat()), Errno.NOENT);
    assert.equal(st(r, 'g').nlink, 1n);
    assert.equal(st(r, 'g').ctim, t);
    assert.equal(fstat(r).mtim, t);
    assert.equal(r.unlink('g'), 0);
    assert.equal(fstat(f).nlink, 0n);
    const buf = new Uint8Array(4);
    assert.equal(f.pread(buf, 0), 4);
    assert.equal(dec(buf), 'data');
  });

  it('removes a symlink, never its target', () => {
    const r = root({ f: 'x', l: { symlink: 'f' }, ld: { symlink: 'd' }, d: {} });
    assert.equal(r.unlink('l'), 0);
    assert.equal(r.unlink('ld'), 0);
    assert.deepEqual(names(r), ['f', 'd']);
  });

  it('ISDIR for a directory and ., NOENT if missing', () => {
    const r = root({ d: {} });
    assert.equal(r.unlink('d'), Errno.ISDIR);
    assert.equal(r.unlink('.'), Errno.ISDIR);
    assert.equal(r.unlink('m'), Errno.NOENT);
  });
});

describe('Dir.rename', () => {
  it('moves a file within a directory and between directories', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    r.mkdir('d');
    asFile(r.open('a', CREATE | WRITE)).pwrite(enc('A'), 0, false);
    const d = asDir(r.openDir('d'));
    const ino = st(r, 'a').ino;
    assert.equal(r.rename('a', r, 'b'), 0);
    assert.deepEqual(names(r), ['d', 'b']);
    const t = tick();
    assert.equal(r.rename('b', d, 'c'), 0);
    assert.equal(st(d, 'c').ino, ino);
    assert.equal(st(d, 'c').ctim, t);
    assert.equal(fstat(r).mtim, t);
    assert.equal(fstat(d).mtim, t);
    assert.equal(read(d, 'c'), 'A');
  });

  it('file over file replaces it (the replaced inode loses a link)', () => {
    const r = root({ a: 'A', b: 'B' });
    const b = asFile(r.open('b', READ));
    assert.equal(r.rename('a', r, 'b'), 0);
    assert.deepEqual(names(r), ['b']);
    assert.equal(read(r, 'b'), 'A');
    assert.equal(fstat(b).nlink, 0n);
  });

  it('symlink over file replaces it; file over symlink replaces the link', () => {
    const r = root({ a: 'A', l: { symlink: 'x' }, m: { symlink: 'y' } });
    assert.equal(r.rename('l', r, 'a'), 0);
    assert.equal(st(r, 'a').filetype, Filetype.SYMBOLIC_LINK);
    r.open('f', CREATE | WRITE);
    assert.equal(r.rename('f', r, 'm'), 0);
    assert.equal(st(r, 'm').filetype, Filetype.REGULAR_FILE);
  });

  it('dir over empty dir replaces it and fixes link counts', () => {
    const r = root({ a: { x: '' }, p: { e: {} } });
    const p = asDir(r.openDir('p'));
    const e = asDir(p.openDir('e'));
    assert.equal(fstat(r).nlink, 4n);
    assert.equal(r.rename('a', p, 'e'), 0);
    assert.deepEqual(names(r), ['p']);
    assert.deepEqual(names(p), ['e']);
    assert.deepEqual(names(asDir(p.openDir('e'))), ['x']);
    assert.equal(fstat(r).nlink, 3n);
    assert.equal(fstat(p).nlink, 3n);
    assert.equal(fstat(e).nlink, 0n);
    assert.equal(e.mkdir('z'), Errno.NOENT);
  });

  it('moving a directory updates both parents link counts and its parent', () => {
    const r = root({ a: { sub: {} }, b: {} });
    const a = asDir(r.openDir('a'));
    const b = asDir(r.openDir('b'));
    assert.equal(a.rename('sub', b, 'sub'), 0);
    assert.equal(fstat(a).nlink, 2n);
    assert.equal(fstat(b).nlink, 3n);
    // Now b/sub's parent is b: moving b into b/sub must fail.
    const sub = asDir(b.openDir('sub'));
    assert.equal(r.rename('b', sub, 'x'), Errno.INVAL);
  });

  it('dir over non-empty dir: NOTEMPTY; dir over file: NOTDIR; file over dir: ISDIR', () => {
    const r = root({ a: {}, full: { x: '' }, f: '', e: {}, l: { symlink: 'e' } });
    assert.equal(r.rename('a', r, 'full'), Errno.NOTEMPTY);
    assert.equal(r.rename('a', r, 'f'), Errno.NOTDIR);
    assert.equal(r.rename('a', r, 'l'), Errno.NOTDIR);
    assert.equal(r.rename('f', r, 'e'), Errno.ISDIR);
    assert.equal(r.rename('l', r, 'e'), Errno.ISDIR);
    assert.deepEqual(names(r), ['a', 'full', 'f', 'e', 'l']);
  });

  it('a directory into its own subtree: INVAL; over an ancestor of the source: NOTEMPTY', () => {
    const r = root({ a: { b: { c: {} } } });
    const a = asDir(r.openDir('a'));
    const b = asDir(a.openDir('b'));
    const c = asDir(b.openDir('c'));
    assert.equal(r.rename('a', a, 'x'), Errno.INVAL);
    assert.equal(r.rename('a', c, 'x'), Errno.INVAL);
    assert.equal(a.rename('b', b, 'x'), Errno.INVAL);
    assert.equal(b.rename('c', r, 'a'), Errno.NOTEMPTY);
  });

  it('rename to itself (same entry or another hard link) is a no-op', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    r.mkdir('d');
    r.open('f', CREATE | WRITE);
    r.link('f', r, 'g');
    const before = fstat(r);
    tick();
    assert.equal(r.rename('f', r, 'f'), 0);
    assert.equal(r.rename('d', r, 'd'), 0);
    assert.equal(r.rename('f', r, 'g'), 0);
    assert.deepEqual(fstat(r), before);
    assert.deepEqual(names(r), ['d', 'f', 'g']);
  });

  it('NOENT for a missing source, BUSY for ., XDEV to another file system', () => {
    const r = root({ f: '', d: {} });
    const other = root({});
    assert.equal(r.rename('m', r, 'n'), Errno.NOENT);
    assert.equal(r.rename('.', r, 'n'), Errno.BUSY);
    assert.equal(r.rename('f', r, '.'), Errno.BUSY);
    assert.equal(r.rename('f', other, 'f'), Errno.XDEV);
    assert.deepEqual(names(other), []);
  });
});

describe('Dir.link', () => {
  it('adds a name to a file or a symlink, counting links', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    r.mkdir('d');
    asFile(r.open('f', CREATE | WRITE)).pwrite(enc('x'), 0, false);
    r.symlink('f', 'l');
    const d = asDir(r.openDir('d'));
    const t = tick();
    assert.equal(r.link('f', d, 'g'), 0);
    assert.equal(st(r, 'f').nlink, 2n);
    assert.equal(st(r, 'f').ctim, t);
    assert.equal(fstat(d).mtim, t);
    assert.equal(read(d, 'g'), 'x');
    assert.equal(r.link('l', r, 'l2'), 0);
    assert.equal(st(r, 'l2').filetype, Filetype.SYMBOLIC_LINK);
    assert.equal(st(r, 'l2').nlink, 2n);
  });

  it('PERM for a directory, EXIST for an existing name, NOENT, XDEV', () => {
    const r = root({ d: {}, f: '', g: '' });
    assert.equal(r.link('d', r, 'e'), Errno.PERM);
    assert.equal(r.link('.', r, 'e'), Errno.PERM);
    assert.equal(r.link('f', r, 'g'), Errno.EXIST);
    assert.equal(r.link('f', r, 'd'), Errno.EXIST);
    assert.equal(r.link('f', r, '.'), Errno.EXIST);
    assert.equal(r.link('m', r, 'n'), Errno.NOENT);
    assert.equal(r.link('f', root({}), 'f'), Errno.XDEV);
    assert.equal(st(r, 'f').nlink, 1n);
  });
});

describe('Dir.utimes / File.utimes', () => {
  it('sets given times, NOW times, leaves unflagged times, and moves ctim', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    r.open('f', CREATE | WRITE);
    const s0 = st(r, 'f');
    const t = tick();
    assert.equal(r.utimes('f', 5n, 7n, FstFlags.ATIM), 0);
    let s = st(r, 'f');
    assert.deepEqual([s.atim, s.mtim, s.ctim], [5n, s0.mtim, t]);
    const t2 = tick();
    assert.equal(r.utimes('f', 0n, 1_234_567_891_234_567_891n, FstFlags.MTIM | FstFlags.ATIM_NOW), 0);
    s = st(r, 'f');
    assert.deepEqual([s.atim, s.mtim, s.ctim], [t2, 1_234_567_891_234_567_891n, t2]);
    const t3 = tick();
    assert.equal(r.utimes('f', 0n, 0n, FstFlags.MTIM_NOW), 0);
    s = st(r, 'f');
    assert.deepEqual([s.atim, s.mtim, s.ctim], [t2, t3, t3]);
    tick();
    assert.equal(r.utimes('f', 1n, 1n, 0), 0, 'no flags: nothing changes');
    assert.deepEqual(st(r, 'f'), s);
  });

  it('never follows a link; works on .; INVAL for conflicting flags; NOENT', () => {
    const r = root({ f: '', l: { symlink: 'f' } });
    const f0 = st(r, 'f');
    assert.equal(r.utimes('l', 9n, 9n, FstFlags.ATIM | FstFlags.MTIM), 0);
    assert.equal(st(r, 'l').mtim, 9n);
    assert.deepEqual(st(r, 'f'), f0);
    assert.equal(r.utimes('.', 3n, 4n, FstFlags.ATIM | FstFlags.MTIM), 0);
    assert.equal(fstat(r).atim, 3n);
    assert.equal(fstat(r).mtim, 4n);
    assert.equal(r.utimes('f', 1n, 1n, FstFlags.ATIM | FstFlags.ATIM_NOW), Errno.INVAL);
    assert.equal(r.utimes('f', 1n, 1n, FstFlags.MTIM | FstFlags.MTIM_NOW), Errno.INVAL);
    assert.equal(r.utimes('f', 1n, 1n, 16), Errno.INVAL);
    assert.equal(r.utimes('m', 1n, 1n, FstFlags.ATIM), Errno.NOENT);
  });

  it('File.utimes sets the open file times', () => {
    const r = root({ f: '' });
    const f = asFile(r.open('f', READ));
    assert.equal(f.utimes(11n, 12n, FstFlags.ATIM | FstFlags.MTIM), 0);
    assert.equal(st(r, 'f').atim, 11n);
    assert.equal(st(r, 'f').mtim, 12n);
    assert.equal(f.utimes(0n, 0n, FstFlags.ATIM | FstFlags.ATIM_NOW), Errno.INVAL);
  });
});

describe('Dir.readdir', () => {
  it('lists entries in insertion order with ino, type and next', () => {
    const r = root({ z: '', a: {}, m: { symlink: 'z' } });
    const out: Out<Dirent[]> = { value: [] };
    assert.equal(r.readdir(out), 0);
    assert.deepEqual(out.value, [
      { next: 1, ino: st(r, 'z').ino, type: Filetype.REGULAR_FILE, name: 'z' },
      { next: 2, ino: st(r, 'a').ino, type: Filetype.DIRECTORY, name: 'a' },
      { next: 3, ino: st(r, 'm').ino, type: Filetype.SYMBOLIC_LINK, name: 'm' },
    ]);
    r.unlink('z');
    r.open('b', CREATE | WRITE);
    assert.deepEqual(names(r), ['a', 'm', 'b']);
  });

  it('updates atime as relatime does', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    const t = tick();
    r.readdir({ value: [] });
    assert.equal(fstat(r).atim, t, 'atim was not newer than mtim');
    tick();
    r.readdir({ value: [] });
    assert.equal(fstat(r).atim, t, 'atim newer than mtim/ctim: unchanged');
    const day = tick(86_400_000_000_000n);
    r.readdir({ value: [] });
    assert.equal(fstat(r).atim, day, 'a day later: updated');
  });
});

describe('File.pread / pwrite', () => {
  it('reads at explicit positions; 0 at or past the end', () => {
    const r = root({ f: 'hello world' });
    const f = asFile(r.open('f', READ));
    const buf = new Uint8Array(5);
    assert.equal(f.pread(buf, 6), 5);
    assert.equal(dec(buf), 'world');
    assert.equal(f.pread(buf, 8), 3);
    assert.equal(dec(buf.subarray(0, 3)), 'rld');
    assert.equal(f.pread(buf, 11), 0);
    assert.equal(f.pread(buf, 100), 0);
    assert.equal(f.pread(new Uint8Array(0), 0), 0);
    assert.equal(f.pread(buf, -1), -Errno.INVAL);
  });

  it('writes at positions, zero-filling a gap past the end', () => {
    const r = root({});
    const f = asFile(r.open('f', CREATE | READ | WRITE));
    assert.equal(f.pwrite(enc('abc'), 0, false), 3);
    assert.equal(f.pwrite(enc('XY'), 1, false), 2);
    assert.equal(f.pwrite(enc('end'), 6, false), 3);
    assert.equal(fstat(f).size, 9n);
    assert.equal(read(r, 'f'), 'aXY\0\0\0end');
    assert.equal(f.pwrite(new Uint8Array(0), 100, false), 0);
    assert.equal(fstat(f).size, 9n, 'an empty write does not extend');
    assert.equal(f.pwrite(enc('x'), -1, false), -Errno.INVAL);
    assert.equal(f.pwrite(enc('x'), 2 ** 32, false), -Errno.FBIG);
  });

  it('append writes at the end whatever the position', () => {
    const r = root({ f: 'ab' });
    const f = asFile(r.open('f', WRITE | APPEND));
    assert.equal(f.pwrite(enc('cd'), 0, true), 2);
    assert.equal(f.pwrite(enc('e'), 0, true), 1);
    assert.equal(read(r, 'f'), 'abcde');
  });

  it('many small appends stay correct', () => {
    const r = root({});
    const f = asFile(r.open('f', CREATE | WRITE));
    const expected: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      f.pwrite(new Uint8Array([i & 0xff, (i >> 8) & 0xff]), 0, true);
      expected.push(i & 0xff, (i >> 8) & 0xff);
    }
    const g = asFile(r.open('f', READ));
    const buf = new Uint8Array(expected.length + 10);
    assert.equal(g.pread(buf, 0), expected.length);
    assert.deepEqual([...buf.subarray(0, expected.length)], expected);
  });

  it('a write updates mtim/ctim (not for 0 bytes); a read updates atim (relatime)', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    const f = asFile(r.open('f', CREATE | READ | WRITE));
    const t = tick();
    f.pwrite(enc('x'), 0, false);
    let s = fstat(f);
    assert.deepEqual([s.mtim, s.ctim], [t, t]);
    tick();
    f.pwrite(new Uint8Array(0), 0, false);
    assert.deepEqual(fstat(f), s);
    const t2 = tick();
    f.pread(new Uint8Array(1), 0);
    s = fstat(f);
    assert.equal(s.atim, t2);
    assert.equal(s.mtim, t);
    tick();
    f.pread(new Uint8Array(1), 0);
    assert.equal(fstat(f).atim, t2, 'relatime: atim newer than mtim stays');
  });
});

describe('File.truncate / allocate / stat / sync / close', () => {
  it('truncate shrinks and grows with zeros, updating mtim/ctim', () => {
    const { fs, tick } = clocked();
    const r = fs.openRoot();
    const f = asFile(r.open('f', CREATE | READ | WRITE));
    f.pwrite(enc('abcdef'), 0, false);
    assert.equal(f.truncate(2), 0);
    assert.equal(read(r, 'f'), 'ab');
    const t = tick();
    assert.equal(f.truncate(5), 0);
    assert.equal(read(r, 'f'), 'ab\0\0\0');
    assert.equal(fstat(f).mtim, t);
    assert.equal(fstat(f).ctim, t);
    assert.equal(f.truncate(-1), Errno.INVAL);
    assert.equal(f.truncate(2 ** 60), Errno.FBIG);
  });

  it('a large truncate is sparse: reads past the stored bytes give zeros', () => {
    const r = root({ f: 'ab' });
    const f = asFile(r.open('f', READ | WRITE));
    assert.equal(f.truncate(1_000_000_000), 0);
    assert.equal(fstat(f).size, 1_000_000_000n);
    const buf = new Uint8Array(4).fill(7);
    assert.equal(f.pread(buf, 0), 4);
    assert.deepEqual([...buf], [97, 98, 0, 0]);
    buf.fill(7);
    assert.equal(f.pread(buf, 999_999_998), 2);
    assert.deepEqual([...buf.subarray(0, 2)], [0, 0]);
  });

  it('allocate grows the size only when offset+len passes the end', () => {
    const r = root({ f: 'abcd' });
    const f = asFile(r.open('f', READ | WRITE));
    assert.equal(f.allocate(0, 2), 0);
    assert.equal(fstat(f).size, 4n);
    assert.equal(f.allocate(3, 5), 0);
    assert.equal(fstat(f).size, 8n);
    assert.equal(read(r, 'f'), 'abcd\0\0\0\0');
    assert.equal(f.allocate(-1, 5), Errno.INVAL);
    assert.equal(f.allocate(0, 0), Errno.INVAL);
  });

  it('stat describes the open file; sync and datasync succeed', () => {
    const fs = memfsFromTree({ f: 'xyz' });
    const r = fs.openRoot();
    const f = asFile(r.open('f', READ));
    const s = fstat(f);
    assert.deepEqual(s, st(r, 'f'));
    assert.equal(s.dev, fs.dev);
    assert.equal(s.size, 3n);
    assert.equal(f.sync(), 0);
    assert.equal(f.datasync(), 0);
    assert.equal(r.sync(), 0);
  });

  it('closed handles answer BADF', () => {
    const r = root({ f: 'x' });
    const f = asFile(r.open('f', READ | WRITE));
    f.close();
    assert.equal(f.pread(new Uint8Array(1), 0), -Errno.BADF);
    assert.equal(f.pwrite(enc('y'), 0, false), -Errno.BADF);
    assert.equal(f.stat(newFilestat()), Errno.BADF);
    assert.equal(f.sync(), Errno.BADF);
    const d = asDir(r.openDir('.'));
    d.close();
    assert.equal(d.lstat('f', newFilestat()), Errno.BADF);
    assert.equal(d.mkdir('x'), Errno.BADF);
    assert.equal(r.rename('f', d, 'g'), Errno.BADF);
    assert.equal(read(r, 'f'), 'x', 'other handles are unaffected');
  });
});

describe('sameFileSystem', () => {
  it('is true only for Dirs of the same MemFs instance', () => {
    const fs = new MemFs();
    const a = fs.openRoot();
    a.mkdir('d');
    const b = asDir(a.openDir('d'));
    assert.equal(a.sameFileSystem(b), true);
    assert.equal(a.sameFileSystem(fs.openRoot()), true);
    assert.equal(a.sameFileSystem(new MemFs().openRoot()), false);
    const foreign = { kind: 'dir' } as unknown as Dir;
    assert.equal(a.sameFileSystem(foreign), false);
    assert.equal(a.rename('d', foreign, 'x'), Errno.XDEV);
  });
});
