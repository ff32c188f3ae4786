;; Imports fd_write with one parameter instead of four: wtm must refuse it before it starts
;; (as wasmtime does at link time), naming the import and both signatures.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $fd_write (i32.const 0)))))
