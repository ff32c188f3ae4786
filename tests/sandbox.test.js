// One conformance suite for the sandbox's path rules, run against every backend (host
// directories and in-memory trees): the same guest-visible answers whatever is underneath.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Sandbox, HostFs, MemFs, Errno, Filetype, LookupFlags, OFlags, Rights, ALL_RIGHTS, newFilestat,
} from '../dist/internal.js';
import { BytesStdin, SinkStdio } from '../dist/sandbox/stdio.js';

const ROOT = 3, OTHER = 4, RO = 5;
const enc = new TextEncoder();
const dec = new TextDecoder();

const backends = {
  host() {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-sb-'));
    const dirs = {};
    for (const name of ['root', 'other', 'ro', 'outside']) {
      dirs[name] = path.join(base, name);
      fs.mkdirSync(dirs[name]);
    }
    fs.writeFileSync(path.join(dirs.ro, 'data.txt'), 'readonly');
    fs.writeFileSync(path.join(dirs.outside, 'secret.txt'), 'SECRET');
    // Host-planted links: absolute targets are read inside the guest's tree.
    fs.symlinkSync('/other', path.join(dirs.root, 'abs'));
    fs.symlinkSync(dirs.outside, path.join(dirs.root, 'hostabs'));
    return {
      fs: { root: new HostFs(dirs.root), other: new HostFs(dirs.other), ro: new HostFs(dirs.ro) },
      outsideUnchanged() {
        assert.deepEqual(fs.readdirSync(dirs.outside), ['secret.txt']);
        assert.deepEqual(fs.readdirSync(base).sort(), ['other', 'outside', 'ro', 'root']);
      },
      cleanup() { fs.rmSync(base, { recursive: true, force: true }); },
    };
  },
  memory() {
    const root = new MemFs();
    const other = new MemFs();
    const ro = new MemFs();
    const rd = root.openRoot();
    rd.symlink('/other', 'abs');
    rd.symlink('/nonexistent/outside', 'hostabs');
    const r = ro.openRoot();
    const f = r.open('data.txt', 1 | 2 | 4);
    f.pwrite(enc.encode('readonly'), 0, false);
    f.close();
    return { fs: { root, other, ro }, outsideUnchanged() {}, cleanup() {} };
  },
};

function sandbox(b) {
  const out = [];
  const sys = new Sandbox({
    args: ['t'], env: [],
    mounts: [
      { guestPath: '/', fs: b.fs.root },
      { guestPath: '/other', fs: b.fs.other },
      { guestPath: '/ro', fs: b.fs.ro, readonly: true },
    ],
    preopens: [{ name: '/', guestPath: '/' }, { name: '/other', guestPath: '/other' }, { name: '/ro', guestPath: '/ro' }],
    stdin: new BytesStdin(new Uint8Array()), stdout: new SinkStdio((c) => out.push(c)), stderr: new SinkStdio(() => {}),
  });
  return sys;
}

function open(sys, dirfd, p, oflags = 0, rights = ALL_RIGHTS, follow = true) {
  return sys.pathOpen(dirfd, follow ? LookupFlags.SYMLINK_FOLLOW : 0, p, oflags, rights, ALL_RIGHTS, 0);
}
function writeFile(sys, dirfd, p, text) {
  const fd = open(sys, dirfd, p, OFlags.CREAT | OFlags.TRUNC);
  assert.ok(fd >= 0, `open ${p}: errno ${-fd}`);
  assert.equal(sys.fdWrite(fd, [enc.encode(text)]), text.length);
  sys.fdClose(fd);
}
function readFile(sys, dirfd, p) {
  const fd = open(sys, dirfd, p, 0, Rights.FD_READ);
  if (fd < 0) return fd;
  const buf = new Uint8Array(100);
  const n = sys.fdRead(fd, [buf]);
  sys.fdClose(fd);
  return dec.decode(buf.subarray(0, n));
}

for (const [name, make] of Object.entries(backends)) {
  test(`${name}: files written through fds read back`, () => {
    const b = make(); const sys = sandbox(b);
    try {
      writeFile(sys, ROOT, 'hello.txt', 'hello');
      assert.equal(readFile(sys, ROOT, 'hello.txt'), 'hello');
      assert.equal(sys.pathCreateDirectory(ROOT, 'd'), 0);
      writeFile(sys, ROOT, 'd/x', 'x');
      assert.equal(readFile(sys, ROOT, 'd/../d/x'), 'x');
    } finally { sys.close(); b.cleanup(); }
  });

  test(`${name}: a path argument stays below its fd`, () => {
    const b = make(); const sys = sandbox(b);
    try {
      const st = newFilestat();
      assert.equal(sys.pathFilestatGet(OTHER, 0, '..', st), Errno.NOTCAPABLE);
      assert.equal(sys.pathCreateDirectory(OTHER, 'a'), 0);
      assert.equal(sys.pathFilestatGet(OTHER, 0, 'a/../..', st), Errno.NOTCAPABLE);
      assert.equal(sys.pathFilestatGet(OTHER, 0, 'a/..', st), 0);
      assert.equal(sys.pathFilestatGet(ROOT, 0, '/other', st), Errno.NOTCAPABLE);
      assert.equal(open(sys, ROOT, '..'), -Errno.NOTCAPABLE);
      assert.equal(sys.pathCreateDirectory(OTHER, '../escape'), Errno.NOTCAPABLE);
    } finally { sys.close(); b.cleanup(); }
  });

  test(`${name}: absolute link targets start at the guest's root`, () => {
    const b = make(); const sys = sandbox(b);
    try {
      writeFile(sys, OTHER, 'in-other.txt', 'other');
      assert.equal(readFile(sys, ROOT, 'abs/in-other.txt'), 'other');
      // A host-planted link to a host path names that path inside the guest's tree, where it does not exist.
      assert.equal(readFile(sys, ROOT, 'hostabs/secret.txt'), -Errno.NOENT);
      b.outsideUnchanged();
    } finally { sys.close(); b.cleanup(); }
  });

  test(`${name}: .. at a mount's root reaches the mount point's parent, not the host`, () => {
    const b = make(); const sys = sandbox(b);
    try {
      writeFile(sys, ROOT, 'top.txt', 'top');
      assert.equal(sys.pathSymlink('..', OTHER, 'up'), 0);
      assert.equal(sys.pathSymlink('../../../../..', OTHER, 'deep'), 0);
      assert.equal(readFile(sys, OTHER, 'up/top.txt'), 'top');
      assert.equal(readFile(sys, OTHER, 'deep/top.txt'), 'top');
      assert.equal(readFile(sys, OTHER, 'deep/other/up/other/deep/top.txt'), 'top');
      const st = newFilestat(), rootSt = newFilestat();
      assert.equal(sys.pathFilestatGet(OTHER, LookupFlags.SYMLINK_FOLLOW, 'deep', st), 0);
      assert.equal(sys.fdFilestatGet(ROOT, rootSt), 0);
      assert.equal(st.ino, rootSt.ino);
      assert.equal(sys.pathSymlink('/etc', OTHER, 'absmade'), Errno.PERM);
      b.outsideUnchanged();
    } finally { sys.close(); b.cleanup(); }
  });

  test(`${name}: links and renames never cross mounts; mount points stay put`, () => {
    const b = make(); const sys = sandbox(b);
    try {
      writeFile(sys, ROOT, 'f', 'f');
      assert.equal(sys.pathRename(ROOT, 'f', OTHER, 'f'), Errno.XDEV);
      assert.equal(sys.pathLink(ROOT, 0, 'f', OTHER, 'f'), Errno.XDEV);
      assert.equal(sys.pathRename(ROOT, 'other', ROOT, 'moved'), Errno.BUSY);
      assert.equal(sys.pathRemoveDirectory(ROOT, 'other'), Errno.BUSY);
      assert.equal(sys.pathUnlinkFile(ROOT, 'other'), Errno.ISDIR);
      const list = { value: [] };
      assert.equal(sys.fdReaddir(ROOT, 0, 4096, list), 0);
      const names = list.value.map((d) => d.name);
      for (const n of ['.', '..', 'other', 'ro', 'f']) assert.ok(names.includes(n), `${n} listed in ${names}`);
      assert.equal(list.value.find((d) => d.name === 'other').type, Filetype.DIRECTORY);
    } finally { sys.close(); b.cleanup(); }
  });

  test(`${name}: a read-only mount refuses every change`, () => {
    const b = make(); const sys = sandbox(b);
    try {
      assert.equal(readFile(sys, RO, 'data.txt'), 'readonly');
      assert.equal(open(sys, RO, 'data.txt', 0, Rights.FD_WRITE), -Errno.ROFS);
      // As on a Linux read-only bind mount: ROFS at the call itself, from the mount's own fd too.
      assert.equal(open(sys, RO, 'new.txt', OFlags.CREAT), -Errno.ROFS);
      assert.equal(open(sys, RO, 'data.txt', OFlags.TRUNC), -Errno.ROFS);
      assert.equal(sys.pathCreateDirectory(RO, 'd'), Errno.ROFS);
      assert.equal(sys.pathUnlinkFile(RO, 'data.txt'), Errno.ROFS);
      assert.equal(sys.pathFilestatSetTimes(RO, 0, 'data.txt', 0n, 0n, 1 | 4), Errno.ROFS);
      // Through the root fd, the same.
      assert.equal(sys.pathUnlinkFile(ROOT, 'ro/data.txt'), Errno.ROFS);
      assert.equal(sys.pathCreateDirectory(ROOT, 'ro/d'), Errno.ROFS);
      assert.equal(sys.pathRename(ROOT, 'ro/data.txt', ROOT, 'ro/x'), Errno.ROFS);
      assert.equal(sys.pathSymlink('data.txt', ROOT, 'ro/l'), Errno.ROFS);
      assert.equal(sys.pathFilestatSetTimes(ROOT, 0, 'ro/data.txt', 0n, 0n, 1 | 4), Errno.ROFS);
      // An fd opened for reading lacks the write rights the guest did not ask for.
      const fd = open(sys, RO, 'data.txt', 0, Rights.FD_READ);
      assert.equal(sys.fdWrite(fd, [enc.encode('x')]), -Errno.NOTCAPABLE);
      assert.equal(sys.fdFilestatSetSize(fd, 0), Errno.NOTCAPABLE);
      sys.fdClose(fd);
      // One opened with every right (read-only access) answers ROFS for time changes.
      const all = open(sys, RO, 'data.txt', 0, Rights.FD_READ | Rights.FD_FILESTAT_SET_TIMES);
      assert.ok(all >= 0);
      assert.equal(sys.fdFilestatSetTimes(all, 0n, 0n, 1 | 4), Errno.ROFS);
      sys.fdClose(all);
      assert.equal(readFile(sys, RO, 'data.txt'), 'readonly');
    } finally { sys.close(); b.cleanup(); }
  });

  test(`${name}: link loops and long chains stop at 40 links`, () => {
    const b = make(); const sys = sandbox(b);
    try {
      writeFile(sys, ROOT, 'target', 't');
      assert.equal(sys.pathSymlink('l2', ROOT, 'l1'), 0);
      assert.equal(sys.pathSymlink('l1', ROOT, 'l2'), 0);
      assert.equal(readFile(sys, ROOT, 'l1'), -Errno.LOOP);
      let prev = 'target';
      for (let i = 1; i <= 41; i++) {
        assert.equal(sys.pathSymlink(prev, ROOT, `c${i}`), 0);
        prev = `c${i}`;
      }
      assert.equal(readFile(sys, ROOT, 'c40'), 't');
      assert.equal(readFile(sys, ROOT, 'c41'), -Errno.LOOP);
      assert.equal(open(sys, ROOT, 'c1', 0, Rights.FD_READ, false), -Errno.LOOP);
    } finally { sys.close(); b.cleanup(); }
  });

  test(`${name}: a renamed directory is seen at its new place at once`, () => {
    const b = make(); const sys = sandbox(b);
    try {
      assert.equal(sys.pathCreateDirectory(ROOT, 'a'), 0);
      writeFile(sys, ROOT, 'a/f', 'one');
      assert.equal(readFile(sys, ROOT, 'a/f'), 'one');
      assert.equal(sys.pathRename(ROOT, 'a', ROOT, 'b'), 0);
      assert.equal(readFile(sys, ROOT, 'a/f'), -Errno.NOENT);
      assert.equal(readFile(sys, ROOT, 'b/f'), 'one');
      assert.equal(sys.pathSymlink('b', ROOT, 'a'), 0);
      assert.equal(readFile(sys, ROOT, 'a/f'), 'one');
    } finally { sys.close(); b.cleanup(); }
  });

  test(`${name}: an open directory fd follows its directory when the guest renames it`, () => {
    const b = make(); const sys = sandbox(b);
    try {
      assert.equal(sys.pathCreateDirectory(ROOT, 'x'), 0);
      assert.equal(sys.pathCreateDirectory(ROOT, 'x/c'), 0);
      writeFile(sys, ROOT, 'x/c/f', 'old');
      const fd = open(sys, ROOT, 'x', OFlags.DIRECTORY, ALL_RIGHTS & ~(Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE));
      assert.ok(fd >= 0);
      assert.equal(sys.pathRename(ROOT, 'x', ROOT, 'y'), 0);
      // A new x/c/f at the old place, walked (and cached) first.
      assert.equal(sys.pathCreateDirectory(ROOT, 'x'), 0);
      assert.equal(sys.pathCreateDirectory(ROOT, 'x/c'), 0);
      writeFile(sys, ROOT, 'x/c/f', 'new');
      assert.equal(readFile(sys, ROOT, 'x/c/f'), 'new');
      // The fd names the moved directory: its c/f is the old one.
      assert.equal(readFile(sys, fd, 'c/f'), 'old');
      assert.equal(readFile(sys, ROOT, 'y/c/f'), 'old');
      assert.equal(readFile(sys, ROOT, 'x/c/f'), 'new');
      // Its literal `..` still stops at the fd.
      assert.equal(readFile(sys, fd, 'c/../../x/c/f'), -Errno.NOTCAPABLE);
      sys.fdClose(fd);
    } finally { sys.close(); b.cleanup(); }
  });

  test(`${name}: a directory holding a mount point is neither removed nor renamed`, () => {
    const b = make();
    const sys = new Sandbox({
      args: ['t'], env: [],
      mounts: [{ guestPath: '/', fs: b.fs.root }, { guestPath: '/a/m', fs: b.fs.other }],
      preopens: [{ name: '/', guestPath: '/' }],
      stdin: new BytesStdin(new Uint8Array()), stdout: new SinkStdio(() => {}), stderr: new SinkStdio(() => {}),
    });
    try {
      assert.equal(sys.pathCreateDirectory(ROOT, 'a'), 0);
      writeFile(sys, ROOT, 'a/m/in-mount', 'm');
      assert.equal(sys.pathRemoveDirectory(ROOT, 'a'), Errno.BUSY);
      assert.equal(sys.pathRename(ROOT, 'a', ROOT, 'b'), Errno.BUSY);
      assert.equal(sys.pathCreateDirectory(ROOT, 'b'), 0);
      assert.equal(sys.pathRename(ROOT, 'b', ROOT, 'a'), Errno.BUSY);
      assert.equal(sys.pathRename(ROOT, 'a/m', ROOT, 'b/m'), Errno.BUSY);
      assert.equal(readFile(sys, ROOT, 'a/m/in-mount'), 'm');
    } finally { sys.close(); b.cleanup(); }
  });

  test(`${name}: a path over 4096 bytes is NAMETOOLONG`, () => {
    const b = make(); const sys = sandbox(b);
    try {
      const st = newFilestat();
      assert.equal(sys.pathFilestatGet(ROOT, 0, 'a/'.repeat(2048), st), Errno.NAMETOOLONG);
      assert.equal(sys.pathFilestatGet(ROOT, 0, './'.repeat(2047) + 'x', st), Errno.NOENT);
      assert.equal(sys.pathSymlink('t/'.repeat(2048), ROOT, 'l'), Errno.NAMETOOLONG);
    } finally { sys.close(); b.cleanup(); }
  });
}

test('memory: one call holds at most 2048 directories (NAMETOOLONG past it), and lets go of them all', () => {
  const b = backends.memory(); const sys = sandbox(b);
  try {
    // 1000 nested directories; at the bottom a link back up to the top and down again.
    let p = '';
    for (let i = 0; i < 1000; i++) {
      p += (i ? '/' : '') + 'd';
      assert.equal(sys.pathCreateDirectory(ROOT, p), 0);
    }
    writeFile(sys, ROOT, p + '/f', 'deep');
    assert.equal(sys.pathSymlink(p, ROOT, 'l1'), 0);
    assert.equal(sys.pathSymlink('../'.repeat(1000) + 'l1', ROOT, p + '/back'), 0);
    // Each `back` walks 1000 directories down again: two walks are held, three are too many.
    assert.equal(readFile(sys, ROOT, 'l1/back/f'), 'deep');
    assert.equal(readFile(sys, ROOT, 'l1/back/back/f'), -Errno.NAMETOOLONG);
    // Nothing stays held once the calls returned.
    assert.equal(sys.vfs.enter(), 0);
  } finally { sys.close(); b.cleanup(); }
});
