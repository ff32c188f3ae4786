// The least a JS host on Node's public API can do per call: a WASI host for the bench guest
// (tests/guests/bench_syscalls.wasm) and nothing more. No sandbox: guest paths become host path
// strings joined onto the preopen (as uvwasi, node:wasi's C library, does), no rights, no
// checks a hostile guest would need, no recording. It is a yardstick, never a runtime: bench/
// floor.mjs runs it beside wtm and node:wasi so that a ratio can be split into what Node's JS
// API costs against node:wasi's C++ (floor / node:wasi) and what wtm adds (wtm / floor).
//
// With `handles`, path calls go through a held handle of the parent directory, as a sandbox must
// (a name is never handed to the kernel from the root, so a swapped directory or link cannot
// lead it out): the parent directories of a path are opened once and kept (as wtm caches them),
// and each call names only the last component through /proc/PID/fd/N/. That is the least a
// handle-keeping host does on Node's API, which has no openat/fstatat.
//
// It uses what wtm uses to stay off BigInts: the adapter module that splits i64 parameters
// into two i32 halves (src/abi/adapter.ts), and performance.now for the clock.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { adapt } from '../dist/abi/adapter.js';
import { PROVIDED_SIGNATURES } from '../dist/abi/signatures.js';

const now = performance.now.bind(performance);
let sigs; // one object, so the adapter module is compiled once
const NOENT = 44, BADF = 8, INVAL = 28;

/** Imports for `module` with `args` and one preopen (guest name -> host dir). run() starts it. */
export function floorHost({ args, preopen, hostDir, stdout, handles = false }) {
  let u8, dv;
  const held = new Map(); // host parent directory -> a held fd on it (handles)
  const proc = `/proc/${process.pid}/fd/`;
  /** The host name a path call hands to the kernel. */
  const hostName = (dir, rel) => {
    if (!handles) return path.join(dir, rel);
    const cut = rel.lastIndexOf('/');
    const parent = cut < 0 ? dir : path.join(dir, rel.slice(0, cut));
    let fd = held.get(parent);
    if (fd === undefined) held.set(parent, (fd = fs.openSync(parent, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)));
    return proc + fd + '/' + rel.slice(cut + 1);
  };
  const fds = [{ fd: 0 }, { fd: stdout }, { fd: 2 }, { dir: hostDir, name: preopen }];
  const enc = new TextEncoder();
  const latin = (p, n) => Buffer.from(u8.buffer, p, n).toString('latin1');
  const add = (e) => { const i = fds.indexOf(undefined, 4); if (i >= 0) { fds[i] = e; return i; } return fds.push(e) - 1; };
  const errno = (e) => (e.code === 'ENOENT' ? NOENT : INVAL);
  class Exit { constructor(code) { this.code = code; } }
  const argBytes = args.map((a) => enc.encode(a + '\0'));
  const fns = {
    args_sizes_get(cp, sp) { dv.setUint32(cp, argBytes.length, true); dv.setUint32(sp, argBytes.reduce((n, b) => n + b.length, 0), true); return 0; },
    args_get(argv, buf) {
      for (let i = 0; i < argBytes.length; i++) { dv.setUint32(argv + 4 * i, buf, true); u8.set(argBytes[i], buf); buf += argBytes[i].length; }
      return 0;
    },
    clock_time_get(_id, _pLo, _pHi, tp) {
      const t = Math.floor(now() * 1e6);
      const hi = Math.floor(t / 4294967296);
      dv.setUint32(tp, t - hi * 4294967296, true);
      dv.setUint32(tp + 4, hi, true);
      return 0;
    },
    fd_prestat_get(fd, p) {
      const e = fds[fd];
      if (fd < 3 || !e || !e.name) return BADF;
      dv.setUint32(p, 0, true); dv.setUint32(p + 4, e.name.length, true);
      return 0;
    },
    fd_prestat_dir_name(fd, p, n) { u8.set(enc.encode(fds[fd].name).subarray(0, n), p); return 0; },
    fd_fdstat_get(fd, p) {
      const e = fds[fd];
      if (!e) return BADF;
      u8.fill(0, p, p + 24);
      dv.setUint8(p, e.dir ? 3 : 4);
      dv.setBigUint64(p + 8, 0x1fffffffn, true); dv.setBigUint64(p + 16, 0x1fffffffn, true);
      return 0;
    },
    fd_write(fd, iovs, n, np) {
      const e = fds[fd];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const k = fs.writeSync(e.fd, u8, dv.getUint32(iovs + 8 * i, true), dv.getUint32(iovs + 8 * i + 4, true), e.pos ?? null);
        if (e.pos !== undefined) e.pos += k;
        total += k;
      }
      dv.setUint32(np, total, true);
      return 0;
    },
    fd_read(fd, iovs, n, np) {
      const e = fds[fd];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const k = fs.readSync(e.fd, u8, dv.getUint32(iovs + 8 * i, true), dv.getUint32(iovs + 8 * i + 4, true), e.pos);
        e.pos += k;
        total += k;
      }
      dv.setUint32(np, total, true);
      return 0;
    },
    fd_seek(fd, oLo, _oHi, whence, p) {
      const e = fds[fd];
      if (whence !== 0) return INVAL;
      e.pos = oLo >>> 0;
      dv.setUint32(p, e.pos, true); dv.setUint32(p + 4, 0, true);
      return 0;
    },
    fd_close(fd) {
      const e = fds[fd];
      if (!e) return BADF;
      if (e.fd !== undefined && fd > 2) fs.closeSync(e.fd);
      fds[fd] = undefined;
      return 0;
    },
    path_create_directory(dirfd, p, n) {
      try { fs.mkdirSync(path.join(fds[dirfd].dir, latin(p, n))); } catch (e) { if (e.code !== 'EEXIST') return errno(e); return 20; }
      return 0;
    },
    path_filestat_get(dirfd, _flags, p, n, out) {
      let st;
      try { st = fs.statSync(hostName(fds[dirfd].dir, latin(p, n)), { bigint: true }); } catch (e) { return errno(e); }
      dv.setBigUint64(out, st.dev, true); dv.setBigUint64(out + 8, st.ino, true);
      dv.setUint8(out + 16, st.isDirectory() ? 3 : 4);
      dv.setBigUint64(out + 24, st.nlink, true); dv.setBigUint64(out + 32, st.size, true);
      dv.setBigUint64(out + 40, st.atimeNs, true); dv.setBigUint64(out + 48, st.mtimeNs, true); dv.setBigUint64(out + 56, st.ctimeNs, true);
      return 0;
    },
    path_open(dirfd, _lookup, p, n, oflags, rbLo, _rbHi, _riLo, _riHi, _fdflags, fdp) {
      const host = path.join(fds[dirfd].dir, latin(p, n));
      const name = hostName(fds[dirfd].dir, latin(p, n));
      let flags = 0;
      if (oflags & 1) flags |= fs.constants.O_CREAT;
      if (oflags & 8) flags |= fs.constants.O_TRUNC;
      if (oflags & 2) flags |= fs.constants.O_DIRECTORY;
      const write = (rbLo & 64) !== 0 && (oflags & 2) === 0; // FD_WRITE
      flags |= write ? fs.constants.O_RDWR : fs.constants.O_RDONLY;
      let hfd;
      try { hfd = fs.openSync(name, flags, 0o644); } catch (e) { return errno(e); }
      dv.setUint32(fdp, add(oflags & 2 ? { fd: hfd, dir: host } : { fd: hfd, pos: 0 }), true);
      return 0;
    },
    fd_readdir(fd, buf, len, cLo, _cHi, up) {
      const e = fds[fd];
      const list = fs.readdirSync(handles ? proc + e.fd : e.dir, { withFileTypes: true });
      let off = 0;
      const entries = [['.', 3], ['..', 3], ...list.map((d) => [d.name, d.isDirectory() ? 3 : 4])];
      for (let i = cLo; i < entries.length && off < len; i++) {
        const [name, type] = entries[i];
        const head = Math.min(24, len - off);
        if (head === 24) {
          dv.setUint32(buf + off, i + 1, true); dv.setUint32(buf + off + 4, 0, true);
          dv.setUint32(buf + off + 8, 0, true); dv.setUint32(buf + off + 12, 0, true);
          dv.setUint32(buf + off + 16, name.length, true); dv.setUint32(buf + off + 20, type, true);
        } else break;
        off += 24;
        const k = Math.min(name.length, len - off);
        for (let j = 0; j < k; j++) u8[buf + off + j] = name.charCodeAt(j);
        off += k;
      }
      dv.setUint32(up, off, true);
      return 0;
    },
    proc_exit(code) { throw new Exit(code); },
  };
  sigs ??= Object.fromEntries(Object.keys(fns).map((k) => [k, PROVIDED_SIGNATURES.wasi_snapshot_preview1[k]]));
  return {
    imports: { wasi_snapshot_preview1: adapt(fns, sigs) },
    /** Runs the instance's _start; the exit code. */
    run(instance) {
      u8 = new Uint8Array(instance.exports.memory.buffer);
      dv = new DataView(instance.exports.memory.buffer);
      try {
        instance.exports._start();
        return 0;
      } catch (e) {
        if (e instanceof Exit) return e.code;
        throw e;
      } finally {
        for (let i = 4; i < fds.length; i++) if (fds[i]?.fd !== undefined) fs.closeSync(fds[i].fd);
        for (const fd of held.values()) fs.closeSync(fd);
      }
    },
  };
}
