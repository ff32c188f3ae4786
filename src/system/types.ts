// Value types of the System interface: WASI preview1 constants and the plain objects that
// carry structured results. Numbers are used where WASI has u64 values that never exceed 2^53
// in practice (sizes, offsets, timestamps in ns): this keeps the hot path free of BigInt.

export const Filetype = {
  UNKNOWN: 0, BLOCK_DEVICE: 1, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4,
  SOCKET_DGRAM: 5, SOCKET_STREAM: 6, SYMBOLIC_LINK: 7,
} as const;

export const Clockid = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME_ID: 2, THREAD_CPUTIME_ID: 3 } as const;
export const Whence = { SET: 0, CUR: 1, END: 2 } as const;
export const Advice = { NORMAL: 0, SEQUENTIAL: 1, RANDOM: 2, WILLNEED: 3, DONTNEED: 4, NOREUSE: 5 } as const;

/** fdflags */
export const FdFlags = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
/** oflags */
export const OFlags = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
/** lookupflags */
export const LookupFlags = { SYMLINK_FOLLOW: 1 } as const;
/** fstflags */
export const FstFlags = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;

export const EventType = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;
export const SubclockFlags = { ABSTIME: 1 } as const;
export const RiFlags = { RECV_PEEK: 1, RECV_WAITALL: 2 } as const;
export const SdFlags = { RD: 1, WR: 2 } as const;

/** Rights. All fit in 30 bits, so they are plain numbers (combine with `|`, test with `&`). */
export const Rights = {
  FD_DATASYNC: 1 << 0, FD_READ: 1 << 1, FD_SEEK: 1 << 2, FD_FDSTAT_SET_FLAGS: 1 << 3,
  FD_SYNC: 1 << 4, FD_TELL: 1 << 5, FD_WRITE: 1 << 6, FD_ADVISE: 1 << 7, FD_ALLOCATE: 1 << 8,
  PATH_CREATE_DIRECTORY: 1 << 9, PATH_CREATE_FILE: 1 << 10, PATH_LINK_SOURCE: 1 << 11,
  PATH_LINK_TARGET: 1 << 12, PATH_OPEN: 1 << 13, FD_READDIR: 1 << 14, PATH_READLINK: 1 << 15,
  PATH_RENAME_SOURCE: 1 << 16, PATH_RENAME_TARGET: 1 << 17, PATH_FILESTAT_GET: 1 << 18,
  PATH_FILESTAT_SET_SIZE: 1 << 19, PATH_FILESTAT_SET_TIMES: 1 << 20, FD_FILESTAT_GET: 1 << 21,
  FD_FILESTAT_SET_SIZE: 1 << 22, FD_FILESTAT_SET_TIMES: 1 << 23, PATH_SYMLINK: 1 << 24,
  PATH_REMOVE_DIRECTORY: 1 << 25, PATH_UNLINK_FILE: 1 << 26, POLL_FD_READWRITE: 1 << 27,
  SOCK_SHUTDOWN: 1 << 28, SOCK_ACCEPT: 1 << 29,
} as const;
export const ALL_RIGHTS = (1 << 30) - 1;

/** Rights that make sense on a regular file. */
export const FILE_RIGHTS =
  Rights.FD_DATASYNC | Rights.FD_READ | Rights.FD_SEEK | Rights.FD_FDSTAT_SET_FLAGS |
  Rights.FD_SYNC | Rights.FD_TELL | Rights.FD_WRITE | Rights.FD_ADVISE | Rights.FD_ALLOCATE |
  Rights.FD_FILESTAT_GET | Rights.FD_FILESTAT_SET_SIZE | Rights.FD_FILESTAT_SET_TIMES |
  Rights.POLL_FD_READWRITE;
/** Rights that make sense on a directory. */
export const DIR_RIGHTS =
  Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_SYNC | Rights.FD_ADVISE | Rights.PATH_CREATE_DIRECTORY |
  Rights.PATH_CREATE_FILE | Rights.PATH_LINK_SOURCE | Rights.PATH_LINK_TARGET | Rights.PATH_OPEN |
  Rights.FD_READDIR | Rights.PATH_READLINK | Rights.PATH_RENAME_SOURCE |
  Rights.PATH_RENAME_TARGET | Rights.PATH_FILESTAT_GET | Rights.PATH_FILESTAT_SET_SIZE |
  Rights.PATH_FILESTAT_SET_TIMES | Rights.FD_FILESTAT_GET | Rights.FD_FILESTAT_SET_TIMES |
  Rights.PATH_SYMLINK | Rights.PATH_REMOVE_DIRECTORY | Rights.PATH_UNLINK_FILE |
  Rights.FD_DATASYNC;
/** Rights of a terminal or pipe used as stdio. */
export const STDIO_RIGHTS =
  Rights.FD_READ | Rights.FD_WRITE | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET |
  Rights.POLL_FD_READWRITE | Rights.FD_DATASYNC | Rights.FD_SYNC | Rights.FD_ADVISE;

/**
 * filestat: what fd_filestat_get / path_filestat_get answer. The u64 fields are BigInt because
 * timestamps in ns since the epoch (and some inode numbers) exceed 2^53: a guest that sets a
 * time and reads it back must see the same nanoseconds.
 */
export interface Filestat {
  dev: bigint; ino: bigint; filetype: number; nlink: bigint; size: bigint;
  atim: bigint; mtim: bigint; ctim: bigint;
}
export function newFilestat(): Filestat {
  return { dev: 0n, ino: 0n, filetype: 0, nlink: 0n, size: 0n, atim: 0n, mtim: 0n, ctim: 0n };
}

/** fdstat: what fd_fdstat_get answers. */
export interface Fdstat { filetype: number; flags: number; rightsBase: number; rightsInheriting: number }
export function newFdstat(): Fdstat {
  return { filetype: 0, flags: 0, rightsBase: 0, rightsInheriting: 0 };
}

/** One directory entry as fd_readdir lists it; `next` is the cookie of the entry after it. */
export interface Dirent { next: number; ino: bigint; type: number; name: string }

/** A poll_oneoff subscription, decoded. */
export interface Subscription {
  userdata: bigint;
  type: number; // EventType
  /** clock: the clock id, the timeout in ns, precision and flags (SubclockFlags). */
  clockId: number; timeout: number; precision: number; flags: number;
  /** fd_read / fd_write: the fd. */
  fd: number;
}
/** A poll_oneoff event, to be encoded by the ABI. */
export interface Event { userdata: bigint; error: number; type: number; nbytes: number; flags: number }

/** A cell for a result that is not a number (a string read back, a name). */
export interface Out<T> { value: T }
