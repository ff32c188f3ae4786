import type { Filestat } from '../system/index.js';
import type { GuestMemory } from './memory.js';

/** filestat: dev@0 ino@8 filetype@16 nlink@24 size@32 atim@40 mtim@48 ctim@56 (64 bytes). */
export function writeFilestat(mem: GuestMemory, p: number, s: Filestat): void {
  mem.check(p, 64);
  const v = mem.view;
  v.setBigUint64(p, s.dev, true);
  v.setBigUint64(p + 8, s.ino, true);
  v.setUint32(p + 16, s.filetype, true);
  v.setUint32(p + 20, 0, true);
  v.setBigUint64(p + 24, s.nlink, true);
  v.setBigUint64(p + 32, s.size, true);
  v.setBigUint64(p + 40, s.atim, true);
  v.setBigUint64(p + 48, s.mtim, true);
  v.setBigUint64(p + 56, s.ctim, true);
}
