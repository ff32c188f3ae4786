export { recordedOutput, type OutputChunk } from './logs.js';
export { summarizeLog, type LogSummary } from './summary.js';
export { FdPaths, interleave, joinGuest, traceBatches, traceCalls, unknownCalls, type TraceFilter, type TraceSource, type TracedCall } from './trace.js';
export { FsStoryBuilder, openMode, type FsEvent, type FsFile, type FsStory } from './fsstory.js';
