;; Imports fd_seek with an i32 offset where WASI has an i64: refused before it starts.
(module
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $fd_seek (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)))))
