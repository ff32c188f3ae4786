;; Imports a WASI function that does not exist: refused before it starts.
(module
  (import "wasi_snapshot_preview1" "fd_teleport" (func $fd_teleport (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $fd_teleport (i32.const 0)))))
