// The host side of tests/stress.test.js, in a worker thread of its own: as fast as it can, it
// swaps directories under the shared writable mount for symlinks and back (rename the
// directory away, put a symlink in its place, later remove the link and rename the directory
// back), so that any check-then-use by name in wtm would be caught. It acts through open
// handles itself (/proc/self/fd/N/NAME): a guest's link is never followed by the swapper.
//
// workerData: { w, slots: [{ parent: '' | 'swapK', name }], relTargets: { top: [...], inner: [...] },
//               absTargets: [[...], ...] (kinds of target: a kind is picked, then one of it), control: SharedArrayBuffer (Int32Array [stop, swaps, errors]) }
// Every other time a directory is parked out of the mount, in the `park` directory (beside
// the canary): a guest still holding it (an fd, a cached handle) then holds a directory
// outside its mount, as the host moved it there, but `..` from it must still be its guest
// parent, never the park directory.
// Posts { swaps, parkedOut, errors, firstError } once it has stopped and put every directory back.
import fs from 'node:fs';
import path from 'node:path';
import { workerData, parentPort } from 'node:worker_threads';

const { w, park, slots, relTargets, absTargets, control } = workerData;
const ctl = new Int32Array(control);
const DIR = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;
const parents = new Map();
const parentFd = (p) => {
  if (!parents.has(p)) parents.set(p, fs.openSync(p === '' ? w : path.join(w, p), DIR));
  return parents.get(p);
};
const parkFd = fs.openSync(park, DIR);
const state = slots.map((s, i) => {
  const fd = parentFd(s.parent);
  const at = (n) => `/proc/self/fd/${fd}/${n}`;
  return {
    at, name: s.name, swapped: false, targets: [s.parent === '' ? relTargets.top : relTargets.inner, ...absTargets],
    awayIn: at(`${s.name}.away`), awayOut: `/proc/self/fd/${parkFd}/parked-${i}`, away: null,
  };
});

let swaps = 0;
let parkedOut = 0;
let errors = 0;
let firstError = null;
const rnd = (n) => Math.floor(Math.random() * n);

function toggle(s) {
  try {
    if (!s.swapped) {
      const out = rnd(2) === 1;
      fs.renameSync(s.at(s.name), out ? s.awayOut : s.awayIn);
      s.away = out ? s.awayOut : s.awayIn;
      s.swapped = true;
      if (out) parkedOut++;
      const kind = s.targets[rnd(s.targets.length)];
      fs.symlinkSync(kind[rnd(kind.length)], s.at(s.name));
    } else {
      try { fs.unlinkSync(s.at(s.name)); } catch (e) { if (e.code !== 'ENOENT') throw e; }
      fs.renameSync(s.away, s.at(s.name));
      s.swapped = false;
    }
    swaps++;
  } catch (e) {
    errors++;
    firstError ??= `${s.name}: ${e.message}`;
  }
}

while (Atomics.load(ctl, 0) === 0) {
  for (const s of state) toggle(s);
  Atomics.store(ctl, 1, swaps);
}
// Put everything back: the directories under their own names again.
for (const s of state) {
  if (!s.swapped) continue;
  try { fs.unlinkSync(s.at(s.name)); } catch { /* already gone */ }
  try {
    fs.renameSync(s.away, s.at(s.name));
    s.swapped = false;
  } catch (e) {
    errors++;
    firstError ??= `restoring ${s.name}: ${e.message}`;
  }
}
for (const fd of [...parents.values(), parkFd]) fs.closeSync(fd);
Atomics.store(ctl, 2, errors);
parentPort.postMessage({ swaps, parkedOut, errors, firstError });
