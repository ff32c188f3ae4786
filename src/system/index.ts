export * from './errno.js';
export * from './types.js';
export * from './system.js';
export * from './tasks.js';
