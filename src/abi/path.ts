import { newFilestat, type Out, type System } from '../system/index.js';
import { rights, u64n, type Hi, type Lo } from './i64.js';
import { writeFilestat } from './layout.js';
import { errnoOf, utf8, type GuestMemory } from './memory.js';

/** Every path_* call. Paths are decoded from guest memory here and nowhere else. */
export function pathImports(sys: System, mem: GuestMemory) {
  const filestat = newFilestat();
  const link: Out<string> = { value: '' };
  return {
    path_create_directory(fd: number, path: number, pathLen: number): number {
      try {
        return sys.pathCreateDirectory(fd, mem.string(path >>> 0, pathLen >>> 0));
      } catch (e) {
        return errnoOf(e);
      }
    },
    path_filestat_get(fd: number, flags: number, path: number, pathLen: number, buf: number): number {
      try {
        const p = buf >>> 0;
        mem.check(p, 64);
        const e = sys.pathFilestatGet(fd, flags, mem.string(path >>> 0, pathLen >>> 0), filestat);
        if (e !== 0) return e;
        writeFilestat(mem, p, filestat);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    path_filestat_set_times(fd: number, flags: number, path: number, pathLen: number, atimLo: Lo, atimHi: Hi, mtimLo: Lo, mtimHi: Hi, fstflags: number): number {
      try {
        const s = mem.string(path >>> 0, pathLen >>> 0);
        return sys.pathFilestatSetTimes(fd, flags, s, u64n(atimLo, atimHi), u64n(mtimLo, mtimHi), fstflags & 0xffff);
      } catch (e) {
        return errnoOf(e);
      }
    },
    path_link(oldFd: number, oldFlags: number, oldPath: number, oldLen: number, newFd: number, newPath: number, newLen: number): number {
      try {
        const from = mem.string(oldPath >>> 0, oldLen >>> 0);
        const to = mem.string(newPath >>> 0, newLen >>> 0);
        return sys.pathLink(oldFd, oldFlags, from, newFd, to);
      } catch (e) {
        return errnoOf(e);
      }
    },
    path_open(fd: number, dirflags: number, path: number, pathLen: number, oflags: number, rightsBaseLo: Lo, rightsBaseHi: Hi, rightsInheritingLo: Lo, rightsInheritingHi: Hi, fdflags: number, fdPtr: number): number {
      try {
        const p = fdPtr >>> 0;
        mem.check(p, 4);
        const s = mem.string(path >>> 0, pathLen >>> 0);
        const r = sys.pathOpen(fd, dirflags, s, oflags & 0xffff, rights(rightsBaseLo, rightsBaseHi), rights(rightsInheritingLo, rightsInheritingHi), fdflags & 0xffff);
        if (r < 0) return -r;
        mem.setU32(p, r);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    path_readlink(fd: number, path: number, pathLen: number, buf: number, bufLen: number, usedPtr: number): number {
      try {
        const b = buf >>> 0, len = bufLen >>> 0, up = usedPtr >>> 0;
        mem.check(b, len);
        mem.check(up, 4);
        const e = sys.pathReadlink(fd, mem.string(path >>> 0, pathLen >>> 0), link);
        if (e !== 0) return e;
        const bytes = utf8(link.value);
        const n = Math.min(len, bytes.byteLength);
        mem.write(b, bytes.subarray(0, n));
        mem.setU32(up, n);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    path_remove_directory(fd: number, path: number, pathLen: number): number {
      try {
        return sys.pathRemoveDirectory(fd, mem.string(path >>> 0, pathLen >>> 0));
      } catch (e) {
        return errnoOf(e);
      }
    },
    path_rename(fd: number, oldPath: number, oldLen: number, newFd: number, newPath: number, newLen: number): number {
      try {
        const from = mem.string(oldPath >>> 0, oldLen >>> 0);
        const to = mem.string(newPath >>> 0, newLen >>> 0);
        return sys.pathRename(fd, from, newFd, to);
      } catch (e) {
        return errnoOf(e);
      }
    },
    path_symlink(oldPath: number, oldLen: number, fd: number, newPath: number, newLen: number): number {
      try {
        const target = mem.string(oldPath >>> 0, oldLen >>> 0);
        return sys.pathSymlink(target, fd, mem.string(newPath >>> 0, newLen >>> 0));
      } catch (e) {
        return errnoOf(e);
      }
    },
    path_unlink_file(fd: number, path: number, pathLen: number): number {
      try {
        return sys.pathUnlinkFile(fd, mem.string(path >>> 0, pathLen >>> 0));
      } catch (e) {
        return errnoOf(e);
      }
    },
  };
}
