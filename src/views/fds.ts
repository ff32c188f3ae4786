import type { DecodedCall } from '../timemachine/describe.js';
import { traceJson } from '../timemachine/trace-format.js';

/** WASI bits the tracker acts on (wasi_snapshot_preview1: oflags DIRECTORY, fdflags APPEND). */
const OFLAG_DIRECTORY = 2;
const FDFLAG_APPEND = 1;
const RIGHT_FD_READ = 1 << 1;
const RIGHT_FD_WRITE = 1 << 6;

/** One open fd of a guest, as its log shows it. */
export interface FdInfo {
  fd: number;
  kind: 'stdio' | 'preopen' | 'file' | 'directory' | 'socket' | 'unknown';
  /**
   * The guest path it was opened by: a preopen's name, or the path_open directory's path
   * joined with the path argument, normalised lexically (`..` and symlinks are not resolved
   * against the file system: this is the name the guest used). `<stdin>` etc. for stdio;
   * null when the log never said.
   */
  path: string | null;
  /**
   * Where the next fd_read/fd_write goes: bytes from the start, `append` (O_APPEND: the end of
   * the file, whose size the log need not tell), or null where there is none to track
   * (stdio, directories, sockets, fds the log never showed opening).
   */
  offset: number | 'append' | null;
  /** Record number of the call that opened it (null: open before the guest's first call). */
  openedAt: number | null;
  /** Files: what its rights allow, `r`, `w`, `rw` or `-` (from rightsBase). */
  access?: 'r' | 'w' | 'rw' | '-';
  /** How it was opened (path_open's arguments, as numbers and by name). */
  oflags?: number;
  fdflags?: number;
  rightsBase?: number;
  rightsInheriting?: number;
  names?: { oflags: string; fdflags: string; rightsBase: string; rightsInheriting: string };
}

const STDIO: readonly string[] = ['<stdin>', '<stdout>', '<stderr>'];

/**
 * The fd table of a recorded guest, rebuilt from its log: feed it decoded records in order
 * (`apply`) and read the open fds at any point (`snapshot`). Nothing is re-run and no file is
 * touched: preopens come from fd_prestat_get's answers, files from path_open's, offsets from
 * the byte counts fd_read and fd_write returned and the positions fd_seek and fd_tell gave.
 * Only successful calls change anything.
 */
export class FdTracker {
  private readonly fds = new Map<number, FdInfo>();
  private count = 0;

  constructor() {
    for (let fd = 0; fd < 3; fd++) this.fds.set(fd, { fd, kind: 'stdio', path: STDIO[fd]!, offset: null, openedAt: null });
  }

  /** Records applied so far. */
  get records(): number {
    return this.count;
  }

  /** The open fd `fd`, if any (a live object: copy it to keep it). */
  get(fd: number): FdInfo | undefined {
    return this.fds.get(fd);
  }

  /** Applies record number `index` (default: the next one). */
  apply(rec: DecodedCall, index = this.count): void {
    this.count = index + 1;
    if (rec.errno !== 0 || typeof rec.ret !== 'number') return;
    const p = rec.params;
    const ret = rec.ret;
    switch (rec.call.method) {
      case 'fdPrestatGet': {
        const fd = p[0] as number;
        const name = typeof rec.out === 'string' ? rec.out : null;
        const was = this.fds.get(fd);
        this.fds.set(fd, { fd, kind: 'preopen', path: name, offset: null, openedAt: was?.openedAt ?? null });
        return;
      }
      case 'pathOpen': {
        const [dir, , rel, oflags, rightsBase, rightsInheriting, fdflags] = p as [number, number, string, number, number, number, number];
        const base = this.fds.get(dir)?.path;
        const isDir = (oflags & OFLAG_DIRECTORY) !== 0;
        const names = traceJson(rec, index).names as Record<string, string> | undefined;
        const name = (k: string, v: number) => names?.[k] ?? String(v);
        this.fds.set(ret, {
          fd: ret, kind: isDir ? 'directory' : 'file', path: joinGuest(base ?? `<fd ${dir}>`, rel),
          offset: isDir ? null : (fdflags & FDFLAG_APPEND) !== 0 ? 'append' : 0,
          openedAt: index, ...(isDir ? {} : { access: access(rightsBase) }), oflags, fdflags, rightsBase, rightsInheriting,
          names: { oflags: name('oflags', oflags), fdflags: name('fdflags', fdflags), rightsBase: name('rightsBase', rightsBase), rightsInheriting: name('rightsInheriting', rightsInheriting) },
        });
        return;
      }
      case 'sockAccept':
        this.fds.set(ret, { fd: ret, kind: 'socket', path: null, offset: null, openedAt: index });
        return;
      case 'fdClose':
        this.fds.delete(p[0] as number);
        return;
      case 'fdRenumber': {
        const [from, to] = p as [number, number];
        const e = this.fds.get(from) ?? this.unknown(from);
        this.fds.delete(from);
        this.fds.set(to, { ...e, fd: to });
        return;
      }
      case 'fdRead':
        this.advance(p[0] as number, ret, false);
        return;
      case 'fdWrite':
        this.advance(p[0] as number, ret, true);
        return;
      case 'fdSeek': case 'fdTell': {
        const e = this.fds.get(p[0] as number) ?? this.unknown(p[0] as number);
        e.offset = ret;
        return;
      }
      case 'fdFdstatSetFlags': {
        const e = this.fds.get(p[0] as number) ?? this.unknown(p[0] as number);
        const flags = p[1] as number;
        e.fdflags = flags;
        if (e.names) e.names.fdflags = (traceJson(rec, index).names as Record<string, string> | undefined)?.flags ?? String(flags);
        // The position stays where it is until the next write, which goes to the end.
        return;
      }
      case 'fdFdstatSetRights': {
        const e = this.fds.get(p[0] as number) ?? this.unknown(p[0] as number);
        e.rightsBase = p[1] as number;
        e.rightsInheriting = p[2] as number;
        if (e.access !== undefined) e.access = access(e.rightsBase);
        if (e.names) {
          const names = traceJson(rec, index).names as Record<string, string> | undefined;
          e.names.rightsBase = names?.rightsBase ?? String(p[1]);
          e.names.rightsInheriting = names?.rightsInheriting ?? String(p[2]);
        }
        return;
      }
      default:
        return;
    }
  }

  /** The open fds now, by number (copies). */
  snapshot(): FdInfo[] {
    return [...this.fds.values()].sort((a, b) => a.fd - b.fd).map((e) => ({ ...e, ...(e.names ? { names: { ...e.names } } : {}) }));
  }

  /** An fd a successful call used though the log never showed it opening. */
  private unknown(fd: number): FdInfo {
    const e: FdInfo = { fd, kind: 'unknown', path: null, offset: null, openedAt: null };
    this.fds.set(fd, e);
    return e;
  }

  private advance(fd: number, n: number, write: boolean): void {
    const e = this.fds.get(fd) ?? this.unknown(fd);
    if (e.kind !== 'file') return;
    if (write && e.fdflags !== undefined && (e.fdflags & FDFLAG_APPEND) !== 0) e.offset = 'append';
    else if (typeof e.offset === 'number') e.offset += n;
  }
}

function access(rights: number): 'r' | 'w' | 'rw' | '-' {
  const r = (rights & RIGHT_FD_READ) !== 0;
  const w = (rights & RIGHT_FD_WRITE) !== 0;
  return r && w ? 'rw' : r ? 'r' : w ? 'w' : '-';
}

/** `dir` joined with a guest path, folded lexically (`a/./b/../c` → `a/c`). */
export function joinGuest(dir: string | undefined, path: string): string {
  const whole = path.startsWith('/') || dir === undefined ? path : `${dir}/${path}`;
  const out: string[] = [];
  for (const part of whole.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return (whole.startsWith('/') ? '/' : '') + out.join('/');
}
