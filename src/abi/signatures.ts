/**
 * The wasm signature of every function wtm provides, as a guest must import it (the
 * wasi_snapshot_preview1 ABI of wasi-libc, and the `wtm` task module). A module that imports
 * one of these with another signature is refused before it starts, as wasmtime refuses it at
 * link time. signatures.test.ts keeps this table equal to the functions in abi/.
 */
export type ValType = 'i32' | 'i64';

export interface Signature {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

const I: ValType = 'i32', L: ValType = 'i64';
const errno = (...params: ValType[]): Signature => ({ params, results: [I] });

export const WASI_SIGNATURES: Readonly<Record<string, Signature>> = {
  args_get: errno(I, I),
  args_sizes_get: errno(I, I),
  environ_get: errno(I, I),
  environ_sizes_get: errno(I, I),
  clock_res_get: errno(I, I),
  clock_time_get: errno(I, L, I),
  fd_advise: errno(I, L, L, I),
  fd_allocate: errno(I, L, L),
  fd_close: errno(I),
  fd_datasync: errno(I),
  fd_fdstat_get: errno(I, I),
  fd_fdstat_set_flags: errno(I, I),
  fd_fdstat_set_rights: errno(I, L, L),
  fd_filestat_get: errno(I, I),
  fd_filestat_set_size: errno(I, L),
  fd_filestat_set_times: errno(I, L, L, I),
  fd_pread: errno(I, I, I, L, I),
  fd_prestat_get: errno(I, I),
  fd_prestat_dir_name: errno(I, I, I),
  fd_pwrite: errno(I, I, I, L, I),
  fd_read: errno(I, I, I, I),
  fd_readdir: errno(I, I, I, L, I),
  fd_renumber: errno(I, I),
  fd_seek: errno(I, L, I, I),
  fd_sync: errno(I),
  fd_tell: errno(I, I),
  fd_write: errno(I, I, I, I),
  path_create_directory: errno(I, I, I),
  path_filestat_get: errno(I, I, I, I, I),
  path_filestat_set_times: errno(I, I, I, I, L, L, I),
  path_link: errno(I, I, I, I, I, I, I),
  path_open: errno(I, I, I, I, I, L, L, I, I),
  path_readlink: errno(I, I, I, I, I, I),
  path_remove_directory: errno(I, I, I),
  path_rename: errno(I, I, I, I, I, I),
  path_symlink: errno(I, I, I, I, I),
  path_unlink_file: errno(I, I, I),
  poll_oneoff: errno(I, I, I, I),
  proc_exit: { params: [I], results: [] },
  proc_raise: errno(I),
  sched_yield: errno(),
  random_get: errno(I, I),
  sock_accept: errno(I, I, I),
  sock_recv: errno(I, I, I, I, I, I),
  sock_send: errno(I, I, I, I, I),
  sock_shutdown: errno(I, I),
};

/** The `wtm` import module (abi/wtm.ts, docs/tasks.md). */
export const WTM_SIGNATURES: Readonly<Record<string, Signature>> = {
  task_submit: errno(I, I, I),
  task_wait: errno(I, I, I, I),
  task_poll: errno(I, I, I),
  task_cancel: errno(I),
};

/** Every import module wtm provides, by name. */
export const PROVIDED_SIGNATURES: Readonly<Record<string, Readonly<Record<string, Signature>>>> = {
  wasi_snapshot_preview1: WASI_SIGNATURES,
  wtm: WTM_SIGNATURES,
};

/** `(i32, i64) -> i32`, as a user reads it. */
export function formatSignature(s: { params: readonly string[]; results: readonly string[] }): string {
  const results = s.results.length === 1 ? s.results[0]! : `(${s.results.join(', ')})`;
  return `(${s.params.join(', ')}) -> ${results}`;
}
