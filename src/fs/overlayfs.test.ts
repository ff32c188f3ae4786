import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Errno, Filetype, FstFlags, newFilestat, type Dirent, type Filestat, type Out } from '../system/index.js';
import { HostFs } from './hostfs.js';
import { MemFs, memfsFromTree } from './memfs.js';
import { OverlayFs } from './overlayfs.js';
import { OpenFlags, type Dir, type File, type FileSystem } from './types.js';

const { READ, WRITE, CREATE, EXCL, TRUNC, DIRECTORY, APPEND } = OpenFlags;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function asDir(h: Dir | File | number): Dir {
  assert.notEqual(typeof h, 'number', `expected a directory, got errno ${String(h)}`);
  assert.equal((h as Dir).kind, 'dir');
  return h as Dir;
}
function asFile(h: Dir | File | number): File {
  assert.notEqual(typeof h, 'number', `expected a file, got errno ${String(h)}`);
  assert.equal((h as File).kind, 'file');
  return h as File;
}
function rootOf(f: FileSystem): Dir {
  return asDir(f.openRoot());
}

/** Walks `p` (a/b/c) from `d` to the directory holding its last component; the caller closes it if it is not `d`. */
function walk(d: Dir, p: string): { dir: Dir; name: string } {
  const parts = p.split('/');
  let dir = d;
  for (const c of parts.slice(0, -1)) {
    const next = asDir(dir.openDir(c));
    if (dir !== d) dir.close();
    dir = next;
  }
  return { dir, name: parts[parts.length - 1]! };
}
function at<T>(d: Dir, p: string, f: (dir: Dir, name: string) => T): T {
  const w = walk(d, p);
  try {
    return f(w.dir, w.name);
  } finally {
    if (w.dir !== d) w.dir.close();
  }
}
function lstat(d: Dir, p: string): Filestat | number {
  return at(d, p, (dir, name) => {
    const out = newFilestat();
    const e = dir.lstat(name, out);
    return e === 0 ? out : e;
  });
}
function st(d: Dir, p: string): Filestat {
  const s = lstat(d, p);
  assert.notEqual(typeof s, 'number', `lstat ${p}: errno ${String(s)}`);
  return s as Filestat;
}
function fstat(h: Dir | File): Filestat {
  const out = newFilestat();
  assert.equal(h.stat(out), 0);
  return out;
}
function readFile(f: File): string {
  const buf = new Uint8Array(Number(fstat(f).size));
  assert.equal(f.pread(buf, 0), buf.length);
  return dec(buf);
}
function read(d: Dir, p: string): string {
  return at(d, p, (dir, name) => {
    const f = asFile(dir.open(name, READ));
    try {
      return readFile(f);
    } finally {
      f.close();
    }
  });
}
function write(d: Dir, p: string, text: string, flags = WRITE | CREATE | TRUNC): void {
  at(d, p, (dir, name) => {
    const f = asFile(dir.open(name, flags));
    assert.equal(f.pwrite(enc(text), 0, false), text.length);
    f.close();
  });
}
function dirents(d: Dir, p = '.'): Dirent[] {
  const dir = p === '.' ? d : asDir(at(d, p, (x, n) => x.openDir(n)));
  const out: Out<Dirent[]> = { value: [] };
  assert.equal(dir.readdir(out), 0);
  if (dir !== d) dir.close();
  return out.value;
}
function names(d: Dir, p = '.'): string[] {
  return dirents(d, p).map((e) => e.name);
}

/**
 * Everything in a file system, as `path -> description` (type, size, content or target, ino,
 * mtim, ctim), read with the backend's own handles: what must not change in a lower layer.
 * (atime is left out: reading a file moves it, in the layer too, as relatime does.)
 */
function snapshot(f: FileSystem): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (d: Dir, prefix: string): void => {
    const list: Out<Dirent[]> = { value: [] };
    assert.equal(d.readdir(list), 0);
    for (const e of list.value) {
      const p = prefix + e.name;
      const s = newFilestat();
      assert.equal(d.lstat(e.name, s), 0);
      let body = '';
      if (s.filetype === Filetype.REGULAR_FILE) {
        const h = asFile(d.open(e.name, READ));
        body = readFile(h);
        h.close();
      } else if (s.filetype === Filetype.SYMBOLIC_LINK) {
        const t: Out<string> = { value: '' };
        assert.equal(d.readlink(e.name, t), 0);
        body = t.value;
      }
      out.set(p, `${s.filetype} ${s.size} ${s.ino} ${s.mtim} ${s.ctim} ${JSON.stringify(body)}`);
      if (s.filetype === Filetype.DIRECTORY) {
        const sub = asDir(d.openDir(e.name));
        visit(sub, p + '/');
        sub.close();
      }
    }
  };
  const r = rootOf(f);
  visit(r, '');
  r.close();
  return out;
}

/** Three lower layers, top first. */
function lowers3(): MemFs[] {
  const bottom = memfsFromTree({
    'replaced.txt': 'bottom',
    gone: 'hidden by a whiteout above',
    opq: { old1: 'x', old2: 'y', sub: { deep: 'z' } },
    merged: { a: 'A3', b: 'B3', sub: { s3: '3' } },
    lowfile: 'low content',
    lowdir: { inner: 'i', nested: { n: 'nnn' } },
    emptied: { x: 'x' },
    link: { symlink: 'lowfile' },
    dirtofile: { f: '1' },
  });
  const middle = memfsFromTree({
    'replaced.txt': 'middle',
    opq: { '.wh..wh..opq': '', new: 'N' },
    merged: { b: 'B2', c: 'C2', sub: { s2: '2' } },
  });
  const top = memfsFromTree({
    'replaced.txt': 'top',
    '.wh.gone': '',
    merged: { d: 'D1', '.wh.a': '' },
    emptied: { '.wh.x': '' },
    dirtofile: 'now a file',
  });
  return [top, middle, bottom];
}

const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

interface UpperKind {
  name: string;
  make(): FileSystem;
}
const upperKinds: UpperKind[] = [
  { name: 'MemFs upper', make: () => new MemFs() },
  {
    name: 'HostFs upper',
    make: () => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-overlay-'));
      tmpDirs.push(d);
      return new HostFs(d);
    },
  },
];

for (const kind of upperKinds) {
  describe(`OverlayFs (${kind.name})`, () => {
    /** An overlay on fresh lowers, with their snapshots to check that nothing changed. */
    function setup(): { ov: OverlayFs; r: Dir; lowers: MemFs[]; upper: FileSystem; unchanged: () => void } {
      const lowers = lowers3();
      const before = lowers.map(snapshot);
      const upper = kind.make();
      const ov = new OverlayFs({ lowers, upper });
      return {
        ov,
        r: rootOf(ov),
        lowers,
        upper,
        unchanged: () => lowers.forEach((l, i) => { assert.deepEqual(snapshot(l), before[i], `lower layer ${i} changed`); }),
      };
    }

    it('merges three layers: replaced file, whiteout, opaque and merged directories', () => {
      const { r, ov } = setup();
      assert.match(ov.description, /^overlay\(/);
      assert.deepEqual(names(r), ['dirtofile', 'emptied', 'link', 'lowdir', 'lowfile', 'merged', 'opq', 'replaced.txt']);
      // a file replaced in a higher layer
      assert.equal(read(r, 'replaced.txt'), 'top');
      assert.equal(st(r, 'replaced.txt').size, 3n);
      // a whiteout hides a lower file
      assert.equal(lstat(r, 'gone'), Errno.NOENT);
      assert.equal(r.open('gone', READ), -Errno.NOENT);
      // an opaque directory hides the content below it
      assert.deepEqual(names(r, 'opq'), ['new']);
      assert.equal(lstat(r, 'opq/old1'), Errno.NOENT);
      assert.equal(at(r, 'opq/sub', (d, n) => d.openDir(n)), -Errno.NOENT);
      assert.equal(read(r, 'opq/new'), 'N');
      // a directory merged across the three layers, with a whiteout in the top one
      assert.deepEqual(names(r, 'merged'), ['b', 'c', 'd', 'sub']);
      assert.equal(read(r, 'merged/b'), 'B2');
      assert.equal(read(r, 'merged/c'), 'C2');
      assert.equal(read(r, 'merged/d'), 'D1');
      assert.equal(lstat(r, 'merged/a'), Errno.NOENT);
      assert.deepEqual(names(r, 'merged/sub'), ['s2', 's3']);
      assert.equal(st(r, 'merged').nlink, 1n, 'merged directories answer nlink 1');
      assert.equal(st(r, 'merged').filetype, Filetype.DIRECTORY);
      // a file in a higher layer hides a lower directory; all whiteouts hide the only entry
      assert.equal(st(r, 'dirtofile').filetype, Filetype.REGULAR_FILE);
      assert.equal(r.openDir('dirtofile'), -Errno.NOTDIR);
      assert.equal(read(r, 'dirtofile'), 'now a file');
      assert.deepEqual(names(r, 'emptied'), []);
      // symlinks are not followed by the backend
      assert.equal(st(r, 'link').filetype, Filetype.SYMBOLIC_LINK);
      assert.equal(r.open('link', READ), -Errno.LOOP);
      assert.equal(r.openDir('link'), -Errno.LOOP);
      const t: Out<string> = { value: '' };
      assert.equal(r.readlink('link', t), 0);
      assert.equal(t.value, 'lowfile');
      assert.equal(r.readlink('lowfile', t), Errno.INVAL);
      // types in the listing come from the layer that provides each name
      const types = Object.fromEntries(dirents(r).map((e) => [e.name, e.type]));
      assert.equal(types.dirtofile, Filetype.REGULAR_FILE);
      assert.equal(types.merged, Filetype.DIRECTORY);
      assert.equal(types.link, Filetype.SYMBOLIC_LINK);
      r.close();
    });

    it('never shows whiteout names, and refuses to create them (PERM)', () => {
      const { r, upper, unchanged } = setup();
      assert.equal(lstat(r, '.wh.gone'), Errno.NOENT);
      assert.equal(lstat(r, 'opq/.wh..wh..opq'), Errno.NOENT);
      assert.equal(r.open('.wh.gone', READ), -Errno.NOENT);
      assert.equal(r.unlink('.wh.gone'), Errno.NOENT);
      assert.equal(r.open('.wh.x', CREATE | WRITE), -Errno.PERM);
      assert.equal(r.mkdir('.wh.x'), Errno.PERM);
      assert.equal(r.symlink('t', '.wh.x'), Errno.PERM);
      assert.equal(r.link('lowfile', r, '.wh.x'), Errno.PERM);
      assert.equal(r.rename('lowfile', r, '.wh.x'), Errno.PERM);
      assert.equal(r.rename('.wh.gone', r, 'x'), Errno.NOENT);
      for (const n of names(r, 'merged').concat(names(r, 'opq'), names(r, 'emptied'))) assert.ok(!n.startsWith('.wh.'), n);
      assert.deepEqual(names(rootOf(upper)), [], 'nothing written');
      unchanged();
      r.close();
    });

    it('answers one dev and consistent inode numbers (lstat, readdir, fstat), distinct across layers', () => {
      const { r, ov } = setup();
      const seen = new Set<bigint>();
      for (const dir of ['.', 'merged', 'merged/sub', 'opq', 'lowdir']) {
        for (const e of dirents(r, dir)) {
          const p = dir === '.' ? e.name : `${dir}/${e.name}`;
          const s = st(r, p);
          assert.equal(s.dev, ov.dev, p);
          assert.equal(s.ino, e.ino, `readdir and lstat agree on ${p}`);
          assert.ok(!seen.has(s.ino), `unique ino for ${p}`);
          seen.add(s.ino);
          if (s.filetype === Filetype.DIRECTORY) {
            const d = asDir(at(r, p, (x, n) => x.openDir(n)));
            assert.equal(fstat(d).ino, s.ino, `stat of ${p} itself`);
            assert.equal(fstat(d).dev, ov.dev);
            d.close();
          } else if (s.filetype === Filetype.REGULAR_FILE) {
            const f = asFile(at(r, p, (x, n) => x.open(n, READ)));
            assert.equal(fstat(f).ino, s.ino, `fstat of ${p}`);
            assert.equal(fstat(f).dev, ov.dev);
            f.close();
          }
        }
      }
      // a directory keeps its inode number when it is copied up
      const before = st(r, 'merged').ino;
      write(r, 'merged/new', 'x');
      assert.equal(st(r, 'merged').ino, before);
      assert.equal(dirents(r).find((e) => e.name === 'merged')!.ino, before);
      r.close();
    });

    it('copies a lower file up on write: new content in the upper layer, the lowers unchanged, times copied', () => {
      const { r, upper, lowers, unchanged } = setup();
      const lowerStat = st(rootOf(lowers[2]!), 'lowfile');
      // Open for writing without writing: the copy has the lower content and times.
      const f0 = asFile(r.open('lowfile', READ | WRITE));
      f0.close();
      const ur = rootOf(upper);
      const copied = st(r, 'lowfile');
      assert.equal(copied.mtim, lowerStat.mtim, 'mtime copied');
      assert.equal(copied.atim, lowerStat.atim, 'atime copied');
      assert.equal(read(ur, 'lowfile'), 'low content');
      // Now write through the overlay.
      const f = asFile(r.open('lowfile', READ | WRITE));
      assert.equal(f.pwrite(enc('HIGH'), 0, false), 4);
      assert.equal(f.pwrite(enc('!'), 0, true), 1);
      f.close();
      assert.equal(read(r, 'lowfile'), 'HIGHcontent!');
      assert.equal(read(ur, 'lowfile'), 'HIGHcontent!');
      assert.equal(read(rootOf(lowers[2]!), 'lowfile'), 'low content');
      // A file below an unchanged directory: the directories are created in the upper layer,
      // with the lower directories' times (the copy-up does not count as a change to them).
      const lowdir = st(r, 'lowdir');
      const nested = st(r, 'lowdir/nested');
      write(r, 'lowdir/nested/n', 'N!', WRITE);
      assert.equal(read(r, 'lowdir/nested/n'), 'N!n');
      assert.equal(read(ur, 'lowdir/nested/n'), 'N!n');
      assert.deepEqual(names(ur, 'lowdir/nested'), ['n']);
      assert.deepEqual(names(r, 'lowdir'), ['inner', 'nested']);
      // Directory times kept by copy-up are rounded to microseconds (see micros() in overlayfs.ts).
      const us = (t: bigint) => t - (t % 1000n);
      assert.equal(st(r, 'lowdir').mtim, us(lowdir.mtim));
      assert.equal(st(r, 'lowdir/nested').mtim, us(nested.mtim));
      assert.equal(st(ur, 'lowdir').mtim, us(lowdir.mtim));
      unchanged();
      r.close();
      ur.close();
    });

    it('copies up for utimes, truncating opens, truncate/allocate through a write fd and hard links; not for reads', () => {
      const { r, upper, unchanged } = setup();
      const ur = rootOf(upper);
      // Reading, and O_CREAT/O_APPEND without write access, copy nothing.
      assert.equal(read(r, 'merged/b'), 'B2');
      asFile(r.open('lowfile', READ | CREATE | APPEND)).close();
      asDir(r.open('lowdir', READ | DIRECTORY)).close();
      assert.deepEqual(names(ur), []);
      // utimes of a file and of a directory
      assert.equal(r.utimes('replaced.txt', 5n, 7n, FstFlags.ATIM | FstFlags.MTIM), 0);
      assert.equal(st(r, 'replaced.txt').mtim, 7n);
      assert.equal(st(ur, 'replaced.txt').atim, 5n);
      assert.equal(read(ur, 'replaced.txt'), 'top');
      assert.equal(at(r, 'opq/new', (d, n) => d.utimes(n, 0n, 9n, FstFlags.MTIM)), 0);
      assert.equal(st(r, 'opq/new').mtim, 9n);
      assert.equal(r.utimes('lowdir', 0n, 11n, FstFlags.MTIM), 0);
      assert.equal(st(r, 'lowdir').mtim, 11n);
      assert.deepEqual(names(r, 'lowdir'), ['inner', 'nested']);
      assert.equal(r.utimes('lowfile', 0n, 0n, FstFlags.ATIM | FstFlags.ATIM_NOW), Errno.INVAL);
      // O_TRUNC
      write(r, 'merged/c', 'c');
      assert.equal(read(r, 'merged/c'), 'c');
      // truncate and allocate through an fd opened for writing
      const f = asFile(at(r, 'merged/sub/s3', (d, n) => d.open(n, WRITE)));
      assert.equal(f.truncate(0), 0);
      assert.equal(f.allocate(0, 4), 0);
      f.close();
      assert.equal(st(r, 'merged/sub/s3').size, 4n);
      assert.equal(st(ur, 'merged/sub/s3').size, 4n);
      // a hard link to a lower file
      assert.equal(r.link('lowfile', r, 'hard'), 0);
      assert.equal(read(r, 'hard'), 'low content');
      assert.equal(st(r, 'hard').nlink, 2n);
      assert.equal(st(r, 'hard').ino, st(r, 'lowfile').ino);
      write(r, 'hard', 'LOW', WRITE);
      assert.equal(read(r, 'lowfile'), 'LOW content');
      assert.equal(r.link('lowdir', r, 'x'), Errno.PERM);
      assert.equal(r.link('lowfile', r, 'merged'), Errno.EXIST);
      assert.equal(r.link('nothing', r, 'x'), Errno.NOENT);
      unchanged();
      r.close();
      ur.close();
    });

    it('an fd open read-only on a lower file refuses writes; setting its times copies it up', () => {
      const { r, upper, unchanged } = setup();
      const f = asFile(r.open('lowfile', READ));
      assert.equal(f.pwrite(enc('x'), 0, false), -Errno.BADF);
      assert.equal(f.truncate(0), Errno.INVAL);
      assert.equal(f.allocate(0, 100), Errno.BADF);
      assert.equal(f.utimes(0n, 0n, FstFlags.MTIM | FstFlags.MTIM_NOW), Errno.INVAL);
      const before = fstat(f).ino;
      assert.equal(f.utimes(0n, 123n, FstFlags.MTIM), 0);
      assert.equal(fstat(f).mtim, 123n);
      assert.equal(st(r, 'lowfile').mtim, 123n);
      assert.equal(fstat(f).ino, st(r, 'lowfile').ino);
      assert.notEqual(fstat(f).ino, before);
      assert.equal(readFile(f), 'low content');
      f.close();
      assert.equal(st(rootOf(upper), 'lowfile').mtim, 123n);
      unchanged();
      r.close();
    });

    it('deleting a lower file leaves a whiteout; creating it again shows the new file and clears it', () => {
      const { r, upper, unchanged } = setup();
      const ur = rootOf(upper);
      assert.equal(r.unlink('lowfile'), 0);
      assert.equal(lstat(r, 'lowfile'), Errno.NOENT);
      assert.ok(!names(r).includes('lowfile'));
      assert.equal(st(ur, '.wh.lowfile').size, 0n);
      assert.equal(r.unlink('lowfile'), Errno.NOENT);
      // A name in several layers goes entirely.
      assert.equal(r.unlink('replaced.txt'), 0);
      assert.equal(lstat(r, 'replaced.txt'), Errno.NOENT);
      // In a merged directory not yet in the upper layer.
      assert.equal(at(r, 'merged/sub/s2', (d, n) => d.unlink(n)), 0);
      assert.deepEqual(names(r, 'merged/sub'), ['s3']);
      // Re-create.
      write(r, 'lowfile', 'new');
      assert.equal(read(r, 'lowfile'), 'new');
      assert.equal(lstat(ur, '.wh.lowfile'), Errno.NOENT);
      assert.equal(r.symlink('target', 'replaced.txt'), 0);
      assert.equal(st(r, 'replaced.txt').filetype, Filetype.SYMBOLIC_LINK);
      assert.equal(lstat(ur, '.wh.replaced.txt'), Errno.NOENT);
      // A file that only ever lived in the upper layer goes without a whiteout.
      write(r, 'upperonly', 'u');
      assert.equal(r.unlink('upperonly'), 0);
      assert.equal(lstat(ur, '.wh.upperonly'), Errno.NOENT);
      assert.equal(lstat(ur, 'upperonly'), Errno.NOENT);
      // A copied-up file: removed from the upper layer, and whited out.
      write(r, 'merged/d', 'dd', WRITE);
      assert.equal(at(r, 'merged/d', (d, n) => d.unlink(n)), 0);
      assert.equal(lstat(r, 'merged/d'), Errno.NOENT);
      assert.deepEqual(names(ur, 'merged').sort(), ['.wh.d', 'sub']);
      assert.equal(r.unlink('lowdir'), Errno.ISDIR);
      unchanged();
      r.close();
      ur.close();
    });

    it('rmdir of a lower directory: NOTEMPTY while the merged view has entries, then a whiteout; mkdir again is opaque', () => {
      const { r, upper, unchanged } = setup();
      const ur = rootOf(upper);
      assert.equal(r.rmdir('lowdir'), Errno.NOTEMPTY);
      assert.equal(r.rmdir('merged'), Errno.NOTEMPTY);
      assert.equal(r.rmdir('lowfile'), Errno.NOTDIR);
      assert.equal(r.rmdir('link'), Errno.NOTDIR);
      // empty in the merged view (its only entry is whited out in a lower layer)
      assert.equal(r.rmdir('emptied'), 0);
      assert.equal(lstat(r, 'emptied'), Errno.NOENT);
      assert.ok(lstat(ur, '.wh.emptied') !== Errno.NOENT);
      assert.equal(r.mkdir('emptied'), 0);
      assert.deepEqual(names(r, 'emptied'), []);
      assert.equal(lstat(r, 'emptied/x'), Errno.NOENT);
      assert.equal(lstat(ur, '.wh.emptied'), Errno.NOENT);
      assert.deepEqual(names(ur, 'emptied'), ['.wh..wh..opq']);
      assert.notEqual(st(r, 'emptied').nlink, 1n, 'not merged');
      // emptied through the overlay: its whiteouts go with it
      const lowdir = asDir(r.openDir('lowdir'));
      assert.equal(lowdir.unlink('inner'), 0);
      assert.equal(lowdir.rmdir('nested'), Errno.NOTEMPTY);
      assert.equal(at(r, 'lowdir/nested/n', (d, n) => d.unlink(n)), 0);
      assert.equal(lowdir.rmdir('nested'), 0);
      assert.deepEqual(names(lowdir), []);
      assert.equal(r.rmdir('lowdir'), 0);
      assert.deepEqual(names(lowdir), [], 'a removed directory lists empty');
      assert.equal(lowdir.open('f', CREATE | WRITE), -Errno.NOENT);
      lowdir.close();
      assert.equal(lstat(r, 'lowdir'), Errno.NOENT);
      assert.equal(lstat(ur, 'lowdir'), Errno.NOENT);
      assert.equal(r.mkdir('lowdir'), 0);
      assert.deepEqual(names(r, 'lowdir'), []);
      // an upper-only directory goes without a whiteout
      assert.equal(r.mkdir('fresh'), 0);
      assert.equal(r.mkdir('fresh'), Errno.EXIST);
      assert.equal(r.mkdir('merged'), Errno.EXIST);
      assert.equal(r.rmdir('fresh'), 0);
      assert.equal(lstat(ur, '.wh.fresh'), Errno.NOENT);
      unchanged();
      r.close();
      ur.close();
    });

    it('rename: a lower file is copied up and whited out, a lower directory is XDEV, an upper-only directory moves', () => {
      const { r, upper, unchanged } = setup();
      const ur = rootOf(upper);
      assert.equal(r.rename('lowfile', r, 'moved'), 0);
      assert.equal(read(r, 'moved'), 'low content');
      assert.equal(lstat(r, 'lowfile'), Errno.NOENT);
      assert.ok(lstat(ur, '.wh.lowfile') !== Errno.NOENT);
      // over a file of a lower layer, and across directories
      const merged = asDir(r.openDir('merged'));
      assert.equal(r.rename('moved', merged, 'b'), 0);
      assert.equal(read(r, 'merged/b'), 'low content');
      assert.equal(lstat(r, 'moved'), Errno.NOENT);
      assert.equal(merged.rename('c', r, 'c'), 0);
      assert.equal(read(r, 'c'), 'C2');
      assert.deepEqual(names(merged), ['b', 'd', 'sub']);
      // onto a whited-out name
      assert.equal(r.rename('c', r, 'gone'), 0);
      assert.equal(read(r, 'gone'), 'C2');
      assert.equal(lstat(ur, '.wh.gone'), Errno.NOENT);
      // directories with lower content do not move
      assert.equal(r.rename('lowdir', r, 'x'), Errno.XDEV);
      assert.equal(merged.rename('sub', r, 'x'), Errno.XDEV);
      assert.equal(r.rename('merged', r, 'x'), Errno.XDEV);
      assert.equal(r.rename('opq', r, 'x'), Errno.XDEV);
      // an upper-only directory does, with its content
      assert.equal(r.mkdir('updir'), 0);
      write(r, 'updir/f', 'F');
      assert.equal(r.mkdir('updir2'), 0); // an empty directory, replaced below
      assert.equal(r.rename('updir', merged, 'updir'), 0);
      assert.equal(read(r, 'merged/updir/f'), 'F');
      assert.equal(lstat(r, 'updir'), Errno.NOENT);
      assert.equal(merged.rename('updir', r, 'updir2'), 0);
      assert.deepEqual(names(r, 'updir2'), ['f']);
      // errors
      assert.equal(r.rename('lowfile', r, 'x'), Errno.NOENT);
      assert.equal(r.rename('updir2', r, 'replaced.txt'), Errno.NOTDIR);
      assert.equal(r.rename('replaced.txt', r, 'updir2'), Errno.ISDIR);
      assert.equal(r.rename('updir2', r, 'lowdir'), Errno.NOTEMPTY);
      assert.equal(r.rename('replaced.txt', r, 'replaced.txt'), 0);
      assert.equal(r.rename('.', r, 'x'), Errno.BUSY);
      assert.equal(read(r, 'replaced.txt'), 'top');
      merged.close();
      unchanged();
      r.close();
      ur.close();
    });

    it('rename of an upper directory over an emptied lower one makes it opaque', () => {
      const { r, unchanged } = setup();
      assert.equal(r.mkdir('up'), 0);
      write(r, 'up/mine', 'm');
      const emptied = asDir(r.openDir('emptied'));
      assert.equal(r.rename('up', r, 'emptied'), 0);
      assert.deepEqual(names(r, 'emptied'), ['mine']);
      assert.equal(lstat(r, 'emptied/x'), Errno.NOENT);
      assert.deepEqual(names(emptied), [], 'the replaced directory is gone');
      emptied.close();
      // over a merged directory emptied through the overlay, whiteouts in its upper copy
      const sub = asDir(at(r, 'merged/sub', (d, n) => d.openDir(n)));
      assert.equal(sub.unlink('s2'), 0);
      assert.equal(sub.unlink('s3'), 0);
      sub.close();
      assert.equal(r.mkdir('up2'), 0);
      write(r, 'up2/z', 'z');
      const merged = asDir(r.openDir('merged'));
      assert.equal(r.rename('up2', merged, 'sub'), 0);
      assert.deepEqual(names(r, 'merged/sub'), ['z']);
      assert.deepEqual(names(r, 'merged'), ['b', 'c', 'd', 'sub']);
      // and the new one moves on (it is upper-only now), leaving the lower one whited out
      assert.equal(merged.rename('sub', r, 'sub'), 0);
      assert.deepEqual(names(r, 'merged'), ['b', 'c', 'd']);
      assert.deepEqual(names(r, 'sub'), ['z']);
      merged.close();
      unchanged();
      r.close();
    });

    it('handles on one directory see each other’s changes; removed and dropped handles behave', () => {
      const { r, ov } = setup();
      const h1 = asDir(r.openDir('merged'));
      const h2 = asDir(at(r, 'merged', (d, n) => d.open(n, READ | DIRECTORY)));
      const h3 = asDir(h1.openDir('.'));
      write(h2, 'new', 'n');
      assert.ok(names(h1).includes('new'));
      assert.equal(read(h3, 'new'), 'n');
      assert.equal(h1.unlink('new'), 0);
      assert.ok(!names(h2).includes('new'));
      assert.ok(h1.sameFileSystem(r));
      assert.ok(!h1.sameFileSystem(rootOf(memfsFromTree({}))));
      assert.equal(h1.rename('b', rootOf(new MemFs()), 'b'), Errno.XDEV);
      h1.close();
      h2.close();
      h3.close();
      r.close();
      // all closed: a new root starts over and sees the same tree
      const r2 = rootOf(ov);
      assert.deepEqual(names(r2, 'merged'), ['b', 'c', 'd', 'sub']);
      assert.equal(r2.open('merged', WRITE), -Errno.ISDIR);
      assert.equal(r2.open('lowfile', DIRECTORY), -Errno.NOTDIR);
      assert.equal(r2.open('lowfile', CREATE | EXCL | WRITE), -Errno.EXIST);
      assert.equal(r2.open('lowfile', TRUNC), -Errno.INVAL);
      assert.equal(r2.open('missing', READ), -Errno.NOENT);
      assert.equal(r2.open('x', CREATE | DIRECTORY), -Errno.INVAL);
      r2.close();
      assert.equal(r2.lstat('lowfile', newFilestat()), Errno.BADF);
    });

    it('20 overlays on the same lowers each see only their own changes', () => {
      const lowers = lowers3();
      const before = lowers.map(snapshot);
      const roots: Dir[] = [];
      for (let i = 0; i < 20; i++) {
        const ov = new OverlayFs({ lowers, upper: kind.make() });
        roots.push(rootOf(ov));
      }
      roots.forEach((r, i) => {
        write(r, 'merged/b', `task ${i}`);
        write(r, `lowdir/nested/n`, `${i}`, WRITE);
        assert.equal(r.unlink('lowfile'), 0);
        if (i % 2 === 0) assert.equal(r.rmdir('emptied'), 0);
      });
      roots.forEach((r, i) => {
        assert.equal(read(r, 'merged/b'), `task ${i}`);
        assert.equal(read(r, 'lowdir/nested/n'), `${i}nnn`.slice(0, 3));
        assert.equal(lstat(r, 'lowfile'), Errno.NOENT);
        assert.equal(names(r).includes('emptied'), i % 2 !== 0);
        assert.equal(read(r, 'merged/c'), 'C2');
        r.close();
      });
      lowers.forEach((l, i) => { assert.deepEqual(snapshot(l), before[i]); });
    });
  });
}

describe('OverlayFs upper layer', () => {
  it('is an OCI-style layer: its whiteouts and markers are plain files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-overlay-'));
    tmpDirs.push(dir);
    const ov = new OverlayFs({ lowers: lowers3(), upper: new HostFs(dir) });
    const r = rootOf(ov);
    assert.equal(r.unlink('lowfile'), 0);
    assert.equal(r.rmdir('emptied'), 0);
    assert.equal(r.mkdir('emptied'), 0);
    write(r, 'merged/b', 'B');
    r.close();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.wh.lowfile', 'emptied', 'merged']);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'emptied')), ['.wh..wh..opq']);
    assert.equal(fs.readFileSync(path.join(dir, 'merged', 'b'), 'utf8'), 'B');
    // Reopened over the same upper directory (as a later task would), the state is the same.
    const again = rootOf(new OverlayFs({ lowers: lowers3(), upper: new HostFs(dir) }));
    assert.equal(lstat(again, 'lowfile'), Errno.NOENT);
    assert.deepEqual(names(again, 'emptied'), []);
    assert.equal(read(again, 'merged/b'), 'B');
    again.close();
  });

  it('honours an opaque marker at the root of a layer', () => {
    const ov = new OverlayFs({ lowers: [memfsFromTree({ '.wh..wh..opq': '', a: 'a' }), memfsFromTree({ b: 'b' })], upper: new MemFs() });
    const r = rootOf(ov);
    assert.deepEqual(names(r), ['a']);
    r.close();
  });

  it('works over unpacked layers on disk, changes none of them, and leaks no descriptors', () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-overlay-'));
    tmpDirs.push(base);
    const files: Record<string, string> = {
      'l2/etc/conf': 'old', 'l2/etc/old': 'o', 'l2/var/cache/c': 'c', 'l2/bin/tool': 'v1',
      'l1/etc/conf': 'new', 'l1/etc/.wh.old': '', 'l1/var/cache/.wh..wh..opq': '', 'l1/var/cache/fresh': 'f',
    };
    for (const [p, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(base, p)), { recursive: true });
      fs.writeFileSync(path.join(base, p), text);
    }
    fs.mkdirSync(path.join(base, 'up'));
    const layerState = (): string[] =>
      (fs.readdirSync(base, { recursive: true }) as string[])
        .filter((p) => !p.startsWith('up'))
        .map((p) => {
          const s = fs.lstatSync(path.join(base, p), { bigint: true });
          return `${p} ${s.mtimeNs} ${s.isFile() ? fs.readFileSync(path.join(base, p), 'utf8') : ''}`;
        })
        .sort();
    const before = layerState();
    const fds = (): number => fs.readdirSync('/proc/self/fd').length;
    const fds0 = fds();
    const ov = new OverlayFs({ lowers: [new HostFs(path.join(base, 'l1')), new HostFs(path.join(base, 'l2'))], upper: new HostFs(path.join(base, 'up')) });
    const r = rootOf(ov);
    assert.deepEqual(names(r, 'etc'), ['conf']);
    assert.deepEqual(names(r, 'var/cache'), ['fresh']);
    assert.equal(read(r, 'etc/conf'), 'new');
    write(r, 'bin/tool', 'v2');
    assert.equal(read(r, 'bin/tool'), 'v2');
    assert.equal(at(r, 'etc/conf', (d, n) => d.unlink(n)), 0);
    assert.deepEqual(names(r, 'etc'), []);
    assert.equal(r.rmdir('etc'), 0);
    assert.equal(r.mkdir('etc'), 0);
    write(r, 'etc/conf', 'mine');
    assert.equal(r.rename('bin', r, 'sbin'), Errno.XDEV);
    const held = asFile(at(r, 'var/cache/fresh', (d, n) => d.open(n, READ)));
    assert.equal(held.utimes(0n, 1_000_000_000n, FstFlags.MTIM), 0);
    held.close();
    r.close();
    assert.equal(fds(), fds0, 'every descriptor closed');
    assert.deepEqual(layerState(), before);
    assert.deepEqual(fs.readdirSync(path.join(base, 'up')).sort(), ['bin', 'etc', 'var']);
    assert.deepEqual(fs.readdirSync(path.join(base, 'up', 'etc')).sort(), ['.wh..wh..opq', 'conf']);
    assert.equal(fs.statSync(path.join(base, 'up', 'var', 'cache', 'fresh')).mtimeMs, 1000);
  });
});

