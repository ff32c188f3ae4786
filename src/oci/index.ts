export * from './layout.js';
export * from './images.js';
export { tarFiles } from './archive.js';
