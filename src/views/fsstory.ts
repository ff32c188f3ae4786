import { FdFlags, OFlags, Rights } from '../system/index.js';
import type { DecodedCall } from '../timemachine/describe.js';
import { FdPaths, joinGuest } from './trace.js';

/** One thing that happened to the file system, in log order. */
export interface FsEvent {
  index: number;
  /** ns since the process started. */
  start: number;
  kind: 'open' | 'create' | 'mkdir' | 'rename' | 'delete' | 'rmdir' | 'symlink' | 'link' | 'truncate';
  path: string;
  /** The new name (rename, link), or the link's target (symlink). */
  to?: string;
  /** How a file was opened: read, write, append, trunc, excl, dir. */
  mode?: string;
  /** The errno name when the call failed. */
  error?: string;
}

/** What one guest path saw over the whole run. */
export interface FsFile {
  path: string;
  opens: number;
  /** Every way it was opened (read, write, create, …). */
  modes: string[];
  bytesRead: number;
  bytesWritten: number;
  created: boolean;
  renamedTo?: string;
  deleted: boolean;
  errors: number;
}

export interface FsStory {
  events: FsEvent[];
  files: FsFile[];
}

/**
 * The file-system story of a run, from its calls alone: files opened (path and mode), bytes
 * read and written per file (through fds opened from it, stdio excluded), files and
 * directories created, renamed and deleted, and the failures. Paths are guest paths.
 */
export class FsStoryBuilder {
  private readonly fds = new FdPaths();
  private readonly events: FsEvent[] = [];
  private readonly files = new Map<string, FsFile>();
  private readonly errno: (n: number) => string;

  constructor(errnoName: (n: number) => string) {
    this.errno = errnoName;
  }

  private file(path: string): FsFile {
    let f = this.files.get(path);
    if (f === undefined) {
      f = { path, opens: 0, modes: [], bytesRead: 0, bytesWritten: 0, created: false, deleted: false, errors: 0 };
      this.files.set(path, f);
    }
    return f;
  }

  private event(rec: DecodedCall, index: number, e: Omit<FsEvent, 'index' | 'start'>): void {
    const ev: FsEvent = { index, start: rec.start, ...e };
    if (rec.errno !== 0) {
      ev.error = this.errno(rec.errno);
      this.file(e.path).errors++;
    }
    this.events.push(ev);
  }

  private at(dirFd: unknown, path: unknown): string {
    return joinGuest(this.fds.get(dirFd as number), path as string);
  }

  add(rec: DecodedCall, index: number): void {
    const p = rec.params;
    const ok = rec.errno === 0;
    switch (rec.call.method) {
      case 'pathOpen': {
        const path = this.at(p[0], p[2]);
        const mode = openMode(p[3] as number, p[4] as number, p[6] as number);
        const creates = ((p[3] as number) & OFlags.CREAT) !== 0;
        this.event(rec, index, { kind: creates ? 'create' : 'open', path, mode });
        if (ok) {
          const f = this.file(path);
          f.opens++;
          for (const m of mode.split(',')) if (!f.modes.includes(m)) f.modes.push(m);
          if (creates) f.created = true;
          f.deleted = false;
        }
        break;
      }
      case 'fdRead': case 'fdPread': case 'fdWrite': case 'fdPwrite': {
        const fd = p[0] as number;
        const path = this.fds.get(fd);
        if (ok && path !== undefined && fd > 2) {
          const f = this.file(path);
          if (rec.call.method === 'fdRead' || rec.call.method === 'fdPread') f.bytesRead += rec.ret as number;
          else f.bytesWritten += rec.ret as number;
        }
        break;
      }
      case 'fdFilestatSetSize': {
        const path = this.fds.get(p[0] as number);
        if (path !== undefined) this.event(rec, index, { kind: 'truncate', path, mode: `size=${p[1]}` });
        break;
      }
      case 'pathCreateDirectory': {
        const path = this.at(p[0], p[1]);
        this.event(rec, index, { kind: 'mkdir', path });
        if (ok) Object.assign(this.file(path), { created: true, deleted: false });
        break;
      }
      case 'pathRename': {
        const from = this.at(p[0], p[1]);
        const to = this.at(p[2], p[3]);
        this.event(rec, index, { kind: 'rename', path: from, to });
        if (ok) {
          this.file(from).renamedTo = to;
          this.file(to).deleted = false;
        }
        break;
      }
      case 'pathUnlinkFile': case 'pathRemoveDirectory': {
        const path = this.at(p[0], p[1]);
        this.event(rec, index, { kind: rec.call.method === 'pathUnlinkFile' ? 'delete' : 'rmdir', path });
        if (ok) this.file(path).deleted = true;
        break;
      }
      case 'pathSymlink': {
        const path = this.at(p[1], p[2]);
        this.event(rec, index, { kind: 'symlink', path, to: p[0] as string });
        if (ok) this.file(path).created = true;
        break;
      }
      case 'pathLink': {
        const from = this.at(p[0], p[2]);
        const to = this.at(p[3], p[4]);
        this.event(rec, index, { kind: 'link', path: from, to });
        if (ok) this.file(to).created = true;
        break;
      }
      default: break;
    }
    this.fds.apply(rec);
  }

  story(): FsStory {
    return { events: this.events, files: [...this.files.values()].sort((a, b) => a.path.localeCompare(b.path)) };
  }
}

/** `read,write,trunc`: how path_open's flags and rights open a file. */
export function openMode(oflags: number, rights: number, fdflags: number): string {
  const m: string[] = [];
  if (oflags & OFlags.DIRECTORY) m.push('dir');
  else {
    if (rights & Rights.FD_READ) m.push('read');
    if (rights & Rights.FD_WRITE) m.push('write');
  }
  if (fdflags & FdFlags.APPEND) m.push('append');
  if (oflags & OFlags.CREAT) m.push('create');
  if (oflags & OFlags.EXCL) m.push('excl');
  if (oflags & OFlags.TRUNC) m.push('trunc');
  return m.length ? m.join(',') : 'path';
}
