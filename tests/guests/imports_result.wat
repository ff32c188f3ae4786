;; Imports proc_exit with an i32 result where WASI has none: refused before it starts.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $proc_exit (i32.const 3)))))
