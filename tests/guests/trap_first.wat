;; Traps before making any call: its recording is an empty log, which replays to the same trap.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
