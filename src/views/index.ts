export { recordedOutput, type OutputChunk } from './logs.js';
export { summarizeLog, type LogSummary } from './summary.js';
export { FdTracker, joinGuest, type FdInfo } from './fds.js';
export { logPoint, type LogPoint } from './timetravel.js';
export { nameWasmFrames, sampleDurations, summarizeProfile, type CpuProfile, type ProfileSummary, type FunctionTime } from './profile.js';
export { readWasmNames, functionAt, WasmFormatError, type WasmNames } from './wasm-names.js';
