export { formatStamp, recordedOutput, timestampedOutput, type OutputChunk } from './logs.js';
export { summarizeLog, type LogSummary } from './summary.js';
