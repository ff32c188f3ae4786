export * from './layout.js';
export * from './images.js';
export { tarFiles } from './archive.js';
export { pullImage, parseRef } from './pull.js';
export { prepareImageRun, type ImageRun } from './run.js';
export { normalizeName, parseName, tryNormalizeName, type ParsedName } from './names.js';
