import type { Out, System } from '../system/index.js';
import { errnoOf, type GuestMemory } from './memory.js';
import { readIovecs } from './iovec.js';

/** sock_accept, sock_recv, sock_send, sock_shutdown. */
export function sockImports(sys: System, mem: GuestMemory) {
  const roflags: Out<number> = { value: 0 };
  return {
    sock_accept(fd: number, flags: number, fdPtr: number): number {
      try {
        const r = sys.sockAccept(fd, flags);
        if (r < 0) return -r;
        mem.setU32(fdPtr >>> 0, r);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    sock_recv(fd: number, iovs: number, iovsLen: number, riFlags: number, lenPtr: number, flagsPtr: number): number {
      try {
        const n = sys.sockRecv(fd, readIovecs(mem, iovs >>> 0, iovsLen >>> 0), riFlags, roflags);
        if (n < 0) return -n;
        mem.setU32(lenPtr >>> 0, n);
        mem.setU16(flagsPtr >>> 0, roflags.value);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    sock_send(fd: number, iovs: number, iovsLen: number, siFlags: number, lenPtr: number): number {
      try {
        const n = sys.sockSend(fd, readIovecs(mem, iovs >>> 0, iovsLen >>> 0), siFlags);
        if (n < 0) return -n;
        mem.setU32(lenPtr >>> 0, n);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    sock_shutdown(fd: number, how: number): number {
      return sys.sockShutdown(fd, how);
    },
  };
}
