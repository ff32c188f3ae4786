export { recordedOutput, type OutputChunk } from './logs.js';
export { summarizeLog, type LogSummary } from './summary.js';
export { FdTracker, joinGuest, type FdInfo } from './fds.js';
export { logPoint, type LogPoint } from './timetravel.js';
export { nameWasmFrames, sampleDurations, summarizeProfile, type CpuProfile, type ProfileSummary, type FunctionTime } from './profile.js';
export { readWasmNames, functionAt, WasmFormatError, type WasmNames } from './wasm-names.js';
export { interleave, traceBatches, traceCalls, unknownCalls, type TraceFilter, type TraceSource, type TracedCall } from './trace.js';
export { FsStoryBuilder, openMode, type FsEvent, type FsFile, type FsStory } from './fsstory.js';
