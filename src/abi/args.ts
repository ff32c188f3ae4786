import type { System } from '../system/index.js';
import { errnoOf, utf8, type GuestMemory } from './memory.js';

/** Writes a list of strings as argv/environ do: pointers at `ptrs`, NUL-terminated bytes at `buf`. */
function writeList(mem: GuestMemory, list: readonly Uint8Array[], ptrs: number, buf: number): void {
  let at = buf;
  for (let i = 0; i < list.length; i++) {
    mem.setU32(ptrs + i * 4, at);
    mem.write(at, list[i]!);
    mem.setU8(at + list[i]!.byteLength, 0);
    at += list[i]!.byteLength + 1;
  }
}

function sizes(mem: GuestMemory, list: readonly Uint8Array[], countPtr: number, sizePtr: number): void {
  let size = 0;
  for (const s of list) size += s.byteLength + 1;
  mem.setU32(countPtr, list.length);
  mem.setU32(sizePtr, size);
}

/** args_* and environ_*. */
export function argsImports(sys: System, mem: GuestMemory) {
  let args: Uint8Array[] | null = null;
  let env: Uint8Array[] | null = null;
  const argList = () => (args ??= sys.args().map(utf8));
  const envList = () => (env ??= sys.environ().map(utf8));
  return {
    args_get(argv: number, buf: number): number {
      try {
        writeList(mem, argList(), argv >>> 0, buf >>> 0);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    args_sizes_get(countPtr: number, sizePtr: number): number {
      try {
        sizes(mem, argList(), countPtr >>> 0, sizePtr >>> 0);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    environ_get(environ: number, buf: number): number {
      try {
        writeList(mem, envList(), environ >>> 0, buf >>> 0);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
    environ_sizes_get(countPtr: number, sizePtr: number): number {
      try {
        sizes(mem, envList(), countPtr >>> 0, sizePtr >>> 0);
        return 0;
      } catch (e) {
        return errnoOf(e);
      }
    },
  };
}
