;; Imports fd_write, fd_seek (an i64 parameter) and proc_exit with their WASI signatures, and
;; prints "ok\n" then exits 0: the hand-written counterpart of the imports_*.wat modules wtm refuses.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ok\n")
  (func (export "_start")
    ;; fd_seek on stdout may fail (a pipe): only the import matters.
    (drop (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 1) (i32.const 32)))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 0))))
