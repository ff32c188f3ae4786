import type { System } from '../system/index.js';
import { adapt } from './adapter.js';
import { argsImports } from './args.js';
import { clockImports } from './clock.js';
import { fdImports } from './fd.js';
import type { GuestMemory } from './memory.js';
import { pathImports } from './path.js';
import { pollImports } from './poll.js';
import { procImports } from './proc.js';
import { randomImports } from './random.js';
import { WASI_SIGNATURES } from './signatures.js';
import { sockImports } from './sock.js';

export { GuestMemory } from './memory.js';

/**
 * The `wasi_snapshot_preview1` functions for one guest: every function decodes guest memory
 * through `mem` and calls `sys`. Each i64 parameter comes as two i32 halves (i64.ts), so link
 * a guest against `wasiModuleImports`, which puts the adapter in between. Bind the instance's
 * memory with `mem.bind()` before the guest runs.
 */
export function wasiImports(sys: System, mem: GuestMemory): Record<string, (...args: never[]) => unknown> {
  return {
    ...argsImports(sys, mem),
    ...clockImports(sys, mem),
    ...fdImports(sys, mem),
    ...pathImports(sys, mem),
    ...pollImports(sys, mem),
    ...procImports(sys),
    ...randomImports(sys, mem),
    ...sockImports(sys, mem),
  };
}

/** The `wasi_snapshot_preview1` import object a guest links against (adapter.ts in between). */
export function wasiModuleImports(sys: System, mem: GuestMemory): WebAssembly.ModuleImports {
  return adapt(wasiImports(sys, mem), WASI_SIGNATURES);
}
