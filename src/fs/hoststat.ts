import fs from 'node:fs';
import { Filetype, type Filestat } from '../system/index.js';

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFSOCK } = fs.constants;

/** The WASI filetype of a host `mode`. FIFOs have no WASI type and answer UNKNOWN, as in wasmtime. */
export function filetypeOfMode(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG: return Filetype.REGULAR_FILE;
    case S_IFDIR: return Filetype.DIRECTORY;
    case S_IFLNK: return Filetype.SYMBOLIC_LINK;
    case S_IFCHR: return Filetype.CHARACTER_DEVICE;
    case S_IFBLK: return Filetype.BLOCK_DEVICE;
    case S_IFSOCK: return Filetype.SOCKET_STREAM;
    default: return Filetype.UNKNOWN;
  }
}

/** Copies host stats (bigint form, for exact nanoseconds) into a WASI filestat. */
export function fillFilestat(st: fs.BigIntStats, out: Filestat): void {
  out.dev = st.dev;
  out.ino = st.ino;
  out.filetype = filetypeOfMode(Number(st.mode));
  out.nlink = st.nlink;
  out.size = st.size;
  out.atim = st.atimeNs;
  out.mtim = st.mtimeNs;
  out.ctim = st.ctimeNs;
}
