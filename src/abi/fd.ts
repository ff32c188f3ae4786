import { newFdstat, newFilestat, type Dirent, type Out, type System } from '../system/index.js';
import { readIovecs } from './iovec.js';
import { errnoOf, utf8, type GuestMemory } from './memory.js';
import { writeFilestat } from './layout.js';

const U64_MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** A u64 argument as a number; values past 2^53 become Infinity, which the System refuses. */
function u64(v: bigint): number {
  const u = BigInt.asUintN(64, v);
  return u > U64_MAX_SAFE ? Infinity : Number(u);
}
/** Rights arrive as i64; only the low 30 bits mean anything. */
function rights(v: bigint): number {
  return Number(v & 0x3fffffffn);
}

/** Every fd_* call. */
export function fdImports(sys: System, mem: GuestMemory) {
  const fdstat = newFdstat();
  const filestat = newFilestat();
  const name: Out<string> = { value: '' };
  const listing: Out<readonly Dirent[]> = { value: [] };
  const nameBytes = new Map<string, Uint8Array>();
  const encodeName = (s: string) => {
    let b = nameBytes.get(s);
    if (b === undefined) {
      b = utf8(s);
      if (nameBytes.size < 4096) nameBytes.set(s, b);
    }
    return b;
  };
  return {
    fd_advise(fd: number, offset: bigint, len: bigint, advice: number): number {
      return sys.fdAdvise(fd, u64(offset), u64(len), advice);
    },
    fd_allocate(fd: number, offset: bigint, len: bigint): number {
      const o = u64(offset), l = u64(len);
      if (!Number.isSafeInteger(o + l)) return 22; // FBIG
      return sys.fdAllocate(fd, o, l);
    },
    fd_close(fd: number): number {
      return sys.fdClose(fd);
    },
    fd_datasync(fd: number): number {
      return sys.fdDatasync(fd);
    },
    fd_fdstat_get(fd: number, ptr: number): number {
      try {
        const p = ptr >>> 0;
        mem.check(p, 24);
        const e = sys.fdFdstatGet(fd, fdstat);
        if (e !== 0) return e;
        mem.setU8(p, fdstat.filetype);
        mem.setU8(p + 1, 0);
        mem.setU16(p + 2, fdstat.flags);
        mem.setU32(p + 4, 0);
        mem.setU64n(p + 8, fdstat.rightsBase);
        mem.setU64n(p + 16, fdstat.rightsInheriting);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    fd_fdstat_set_flags(fd: number, flags: number): number {
      return sys.fdFdstatSetFlags(fd, flags & 0xffff);
    },
    fd_fdstat_set_rights(fd: number, base: bigint, inheriting: bigint): number {
      return sys.fdFdstatSetRights(fd, rights(base), rights(inheriting));
    },
    fd_filestat_get(fd: number, ptr: number): number {
      try {
        const p = ptr >>> 0;
        mem.check(p, 64);
        const e = sys.fdFilestatGet(fd, filestat);
        if (e !== 0) return e;
        writeFilestat(mem, p, filestat);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    fd_filestat_set_size(fd: number, size: bigint): number {
      return sys.fdFilestatSetSize(fd, u64(size));
    },
    fd_filestat_set_times(fd: number, atim: bigint, mtim: bigint, fstflags: number): number {
      return sys.fdFilestatSetTimes(fd, BigInt.asUintN(64, atim), BigInt.asUintN(64, mtim), fstflags & 0xffff);
    },
    fd_pread(fd: number, iovs: number, iovsLen: number, offset: bigint, nreadPtr: number): number {
      try {
        const p = nreadPtr >>> 0;
        mem.check(p, 4);
        const o = u64(offset);
        if (o === Infinity) return 28; // INVAL
        const n = sys.fdPread(fd, readIovecs(mem, iovs >>> 0, iovsLen >>> 0), o);
        if (n < 0) return -n;
        mem.setU32(p, n);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    fd_prestat_get(fd: number, ptr: number): number {
      try {
        const p = ptr >>> 0;
        mem.check(p, 8);
        const e = sys.fdPrestatGet(fd, name);
        if (e !== 0) return e;
        mem.setU32(p, 0); // tag: dir
        mem.setU32(p + 4, encodeName(name.value).byteLength);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    fd_prestat_dir_name(fd: number, ptr: number, len: number): number {
      try {
        const e = sys.fdPrestatGet(fd, name);
        if (e !== 0) return e;
        const bytes = encodeName(name.value);
        if ((len >>> 0) < bytes.byteLength) return 37; // NAMETOOLONG
        mem.write(ptr >>> 0, bytes);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    fd_pwrite(fd: number, iovs: number, iovsLen: number, offset: bigint, nwrittenPtr: number): number {
      try {
        const p = nwrittenPtr >>> 0;
        mem.check(p, 4);
        const o = u64(offset);
        if (o === Infinity) return 28; // INVAL
        const n = sys.fdPwrite(fd, readIovecs(mem, iovs >>> 0, iovsLen >>> 0), o);
        if (n < 0) return -n;
        mem.setU32(p, n);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    fd_read(fd: number, iovs: number, iovsLen: number, nreadPtr: number): number {
      try {
        const p = nreadPtr >>> 0;
        mem.check(p, 4);
        const n = sys.fdRead(fd, readIovecs(mem, iovs >>> 0, iovsLen >>> 0));
        if (n < 0) return -n;
        mem.setU32(p, n);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, bufusedPtr: number): number {
      try {
        const b = buf >>> 0, len = bufLen >>> 0, up = bufusedPtr >>> 0;
        mem.check(b, len);
        mem.check(up, 4);
        const c = u64(cookie);
        const e = sys.fdReaddir(fd, c === Infinity ? Number.MAX_SAFE_INTEGER : c, len, listing);
        if (e !== 0) return e;
        mem.setU32(up, encodeDirents(mem, b, len, listing.value, encodeName));
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    fd_renumber(fd: number, to: number): number {
      return sys.fdRenumber(fd, to);
    },
    fd_seek(fd: number, offset: bigint, whence: number, newOffsetPtr: number): number {
      try {
        const p = newOffsetPtr >>> 0;
        mem.check(p, 8);
        const n = sys.fdSeek(fd, Number(offset), whence & 0xff);
        if (n < 0) return -n;
        mem.setU64n(p, n);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    fd_sync(fd: number): number {
      return sys.fdSync(fd);
    },
    fd_tell(fd: number, ptr: number): number {
      try {
        const p = ptr >>> 0;
        mem.check(p, 8);
        const n = sys.fdTell(fd);
        if (n < 0) return -n;
        mem.setU64n(p, n);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
      try {
        const p = nwrittenPtr >>> 0;
        mem.check(p, 4);
        const n = sys.fdWrite(fd, readIovecs(mem, iovs >>> 0, iovsLen >>> 0));
        if (n < 0) return -n;
        mem.setU32(p, n);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
  };
}

/**
 * Encodes the entries (the first is at the guest's cookie) as dirents (24-byte header + name) into [buf, buf+len).
 * The last entry may be cut; a full buffer tells the guest to call again. Returns bytes used.
 */
function encodeDirents(mem: GuestMemory, buf: number, len: number, list: readonly Dirent[], encode: (s: string) => Uint8Array): number {
  const header = new Uint8Array(24);
  const hv = new DataView(header.buffer);
  let used = 0;
  for (let i = 0; i < list.length && used < len; i++) {
    const d = list[i]!;
    const nameBytes = encode(d.name);
    hv.setBigUint64(0, BigInt(d.next), true);
    hv.setBigUint64(8, d.ino, true);
    hv.setUint32(16, nameBytes.byteLength, true);
    header[20] = d.type;
    const h = Math.min(24, len - used);
    mem.write(buf + used, header.subarray(0, h));
    used += h;
    if (used >= len) break;
    const n = Math.min(nameBytes.byteLength, len - used);
    mem.write(buf + used, nameBytes.subarray(0, n));
    used += n;
  }
  return used;
}
