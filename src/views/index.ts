export { recordedOutput, type OutputChunk } from './logs.js';
export { summarizeLog, type LogSummary } from './summary.js';
export { FdPaths, interleave, joinGuest, traceBatches, traceCalls, unknownCalls, type TraceFilter, type TraceSource, type TracedCall } from './trace.js';
