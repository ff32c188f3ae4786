/** A preopened directory: the name the guest sees and the guest path it is. */
export interface PreopenSpec {
  name: string;
  guestPath: string;
}

/**
 * The preopens that make both absolute and relative paths right for wasi-libc.
 *
 * wasi-libc maps a path onto a preopen by longest prefix after stripping leading `/` and `./`,
 * so `/etc/x` and `etc/x` look the same to it and both go to the last preopen named `/` or
 * `.` (its cwd is `/` and cannot be set from outside). So: `/` (the root), then `/NAME` for each
 * top-level directory whose name is not also an entry of the working directory (so absolute
 * paths find their longer prefix), then `.` for the working directory, last (so relative paths
 * land there). A top-level name that also exists in the working directory is left out: `lib/x`
 * typed by a user means the project's `lib`, and it would otherwise go to `/lib`.
 */
export function workingDirPreopens(rootDirs: string[], cwdEntries: string[], workingDir: string): PreopenSpec[] {
  const preopens: PreopenSpec[] = [{ name: '/', guestPath: '/' }];
  const here = new Set(cwdEntries);
  for (const name of [...rootDirs].sort()) {
    if (!here.has(name)) preopens.push({ name: '/' + name, guestPath: '/' + name });
  }
  if (workingDir !== '/') preopens.push({ name: '.', guestPath: workingDir });
  return preopens;
}
