export type { ObjectStore } from './store.js';
export { checkKey, checkKind } from './store.js';
export { LocalStore } from './local.js';
export { Registry, wtmVersion } from './registry.js';
export type { NewProcess, ProcessPatch, ProcessRecord, ProcessState } from './process.js';
export { PROCESS_STATES, checkProcessRecord } from './process.js';
export { canonicalJson, sha256Hex } from './digest.js';
