// Everything the library has, for tools and tests that go below the public API (wtm/internal):
// no stability promise; the public API is src/index.ts.
export * from './runtime/index.js';
export * from './system/index.js';
export { ChaosSystem, parseChaos, DEFAULT_CHAOS_RATE, type ChaosOptions, type FaultKind } from './system/chaos.js';
export { Sandbox, type SandboxOptions, type Preopen } from './sandbox/sandbox.js';
export { GuestMemory, wasiImports } from './abi/index.js';
export { HostFs } from './fs/hostfs.js';
export { MemFs, memfsFromTree } from './fs/memfs.js';
export { ReadOnlyFs } from './fs/readonly.js';
export type { FileSystem, Dir, File } from './fs/types.js';
export { Registry, LocalStore, type ObjectStore, type ProcessRecord } from './registry/index.js';
export { NatsStore } from './registry/nats-store.js';
export { NatsTaskQueue, workerIdentity } from './runtime/nats-queue.js';
export { takeSnapshot, readSnapshot, materializeSnapshot } from './registry/snapshot.js';
export { canonicalJson, sha256Hex } from './registry/digest.js';
