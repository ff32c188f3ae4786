export { formatStamp, recordedOutput, timestampedOutput, type OutputChunk } from './logs.js';
export { summarizeLog, type LogSummary } from './summary.js';
export { FdPaths, interleave, joinGuest, traceBatches, traceCalls, unknownCalls, type TraceFilter, type TraceSource, type TracedCall } from './trace.js';
export { FsStoryBuilder, openMode, type FsEvent, type FsFile, type FsStory } from './fsstory.js';
export { diffLogs, excerpt, type DiffOptions, type DiffSide, type EnvDiff, type FirstDifference, type LogDiff, type SequenceDiff, type ShownCall, type StreamDiff } from './diff.js';
export { KINDS, scriptJson, timelineData, timelineHtml, type LaneInput, type TimelineData, type TimelineOptions } from './timeline.js';
