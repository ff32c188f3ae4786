import { newFdstat, newFilestat, type Dirent, type Out, type System } from '../system/index.js';
import { rights, s64, u64, u64n, type Hi, type Lo } from './i64.js';
import { readIovecs } from './iovec.js';
import { errnoOf, utf8, type GuestMemory } from './memory.js';
import { writeFilestat } from './layout.js';

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
    fd_advise(fd: number, offsetLo: Lo, offsetHi: Hi, lenLo: Lo, lenHi: Hi, advice: number): number {
      return sys.fdAdvise(fd, u64(offsetLo, offsetHi), u64(lenLo, lenHi), advice);
    },
    fd_allocate(fd: number, offsetLo: Lo, offsetHi: Hi, lenLo: Lo, lenHi: Hi): number {
      const o = u64(offsetLo, offsetHi), l = u64(lenLo, lenHi);
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
    fd_fdstat_set_rights(fd: number, baseLo: Lo, baseHi: Hi, inheritingLo: Lo, inheritingHi: Hi): number {
      return sys.fdFdstatSetRights(fd, rights(baseLo, baseHi), rights(inheritingLo, inheritingHi));
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
    fd_filestat_set_size(fd: number, sizeLo: Lo, sizeHi: Hi): number {
      return sys.fdFilestatSetSize(fd, u64(sizeLo, sizeHi));
    },
    fd_filestat_set_times(fd: number, atimLo: Lo, atimHi: Hi, mtimLo: Lo, mtimHi: Hi, fstflags: number): number {
      return sys.fdFilestatSetTimes(fd, u64n(atimLo, atimHi), u64n(mtimLo, mtimHi), fstflags & 0xffff);
    },
    fd_pread(fd: number, iovs: number, iovsLen: number, offsetLo: Lo, offsetHi: Hi, nreadPtr: number): number {
      try {
        const p = nreadPtr >>> 0;
        mem.check(p, 4);
        const o = u64(offsetLo, offsetHi);
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
    fd_pwrite(fd: number, iovs: number, iovsLen: number, offsetLo: Lo, offsetHi: Hi, nwrittenPtr: number): number {
      try {
        const p = nwrittenPtr >>> 0;
        mem.check(p, 4);
        const o = u64(offsetLo, offsetHi);
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
    fd_readdir(fd: number, buf: number, bufLen: number, cookieLo: Lo, cookieHi: Hi, bufusedPtr: number): number {
      try {
        const b = buf >>> 0, len = bufLen >>> 0, up = bufusedPtr >>> 0;
        mem.check(b, len);
        mem.check(up, 4);
        const c = u64(cookieLo, cookieHi);
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
    fd_seek(fd: number, offsetLo: Lo, offsetHi: Hi, whence: number, newOffsetPtr: number): number {
      try {
        const p = newOffsetPtr >>> 0;
        mem.check(p, 8);
        const n = sys.fdSeek(fd, s64(offsetLo, offsetHi), whence & 0xff);
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
  // The caller checked [buf, buf+len) and nothing since can grow memory: the views are current.
  const view = mem.view, u8 = mem.u8;
  let used = 0;
  for (let i = 0; i < list.length && used < len; i++) {
    const d = list[i]!;
    const nameBytes = encode(d.name);
    if (len - used < 24) {
      // The buffer ends inside this header: as much of it as fits (the guest sees it is cut).
      writeDirentHeader(headerView, 0, d, nameBytes.byteLength);
      u8.set(partialHeader.subarray(0, len - used), buf + used);
      return len;
    }
    writeDirentHeader(view, buf + used, d, nameBytes.byteLength);
    used += 24;
    const n = Math.min(nameBytes.byteLength, len - used);
    u8.set(n === nameBytes.byteLength ? nameBytes : nameBytes.subarray(0, n), buf + used);
    used += n;
  }
  return used;
}

/** A dirent's 24-byte header at `p`: d_next, d_ino, d_namlen, d_type and three bytes of padding. */
function writeDirentHeader(view: DataView, p: number, d: Dirent, nameLength: number): void {
  const next = d.next, nextHi = Math.floor(next / 4294967296);
  view.setUint32(p, next - nextHi * 4294967296, true);
  view.setUint32(p + 4, nextHi, true);
  view.setBigUint64(p + 8, d.ino, true);
  view.setUint32(p + 16, nameLength, true);
  view.setUint32(p + 20, d.type, true);
}
const partialHeader = new Uint8Array(24);
const headerView = new DataView(partialHeader.buffer);
