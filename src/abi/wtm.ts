import type { Out, TaskHost } from '../system/index.js';
import { errnoOf, utf8, type GuestMemory } from './memory.js';

/**
 * The `wtm` import module (docs/tasks.md, sdk/c/wtm.h):
 *   task_submit(spec_ptr, spec_len, id_ptr) -> errno
 *   task_wait(id, buf_ptr, buf_len, used_ptr) -> errno
 *   task_poll(buf_ptr, buf_len, used_ptr) -> errno
 *   task_cancel(id) -> errno
 * A result that does not fit answers NOBUFS with `*used` = the size needed.
 */
export function wtmImports(host: TaskHost, mem: GuestMemory) {
  const out: Out<string> = { value: '' };
  const deliver = (errno: number, buf: number, len: number, usedPtr: number): number => {
    if (errno !== 0 && errno !== 42 /* NOBUFS */) return errno;
    const bytes = utf8(out.value);
    mem.setU32(usedPtr, bytes.byteLength);
    if (errno !== 0 || bytes.byteLength > len) return 42;
    mem.write(buf, bytes);
    return 0;
  };
  return {
    task_submit(spec: number, specLen: number, idPtr: number): number {
      try {
        const p = idPtr >>> 0;
        mem.check(p, 4);
        const r = host.taskSubmit(mem.string(spec >>> 0, specLen >>> 0));
        if (r < 0) return -r;
        mem.setU32(p, r);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    task_wait(id: number, buf: number, bufLen: number, usedPtr: number): number {
      try {
        const b = buf >>> 0, len = bufLen >>> 0, up = usedPtr >>> 0;
        mem.check(b, len);
        mem.check(up, 4);
        return deliver(host.taskWait(id >>> 0, len, out), b, len, up);
      } catch (e) {
        return errnoOf(e);
      }
    },
    task_poll(buf: number, bufLen: number, usedPtr: number): number {
      try {
        const b = buf >>> 0, len = bufLen >>> 0, up = usedPtr >>> 0;
        mem.check(b, len);
        mem.check(up, 4);
        mem.setU32(up, 0);
        return deliver(host.taskPoll(len, out), b, len, up);
      } catch (e) {
        return errnoOf(e);
      }
    },
    task_cancel(id: number): number {
      return host.taskCancel(id >>> 0);
    },
  };
}
