// Hand-picked cases for the same comparison as the property test: the smallest forms of every
// disagreement between wtm and the kernel the property test and its survey found, so each one
// stays a named regression test (and a case random search reaches only rarely: renaming the
// directory that holds a mount point). Each runs with every operation compared.
const F = (name, data = 'x') => ({ name, kind: 'f', data });
const L = (name, target) => ({ name, kind: 'l', target });
const D = (name, children = []) => ({ name, kind: 'd', children });
const c = (root, mounts, ops, rootRo = false) => ({ root: { ro: rootRo, tree: root }, mounts: mounts.map((m) => ({ ro: false, ...m })), ops });

export const directedCases = [
  ['rule 3: `..` after a link to `.` at the fd', c([L('lnk', '.')], [{ guest: '/m1', tree: [] }], [['stat', '/', 'lnk/..']])],
  ["rule 3: RULES.md's example sub/lnk/../../x", c([D('sub', [L('lnk', '.')]), F('x')], [{ guest: '/m1', tree: [] }], [['stat', '/', 'sub/lnk/../../x']])],
  ['rule 3: a link to `..` at a mount root, then a literal `..`', c([F('x')], [{ guest: '/m1', tree: [L('up', '..')] }], [['stat', '/m1', 'up/../x'], ['ls', '/m1', 'up/..']])],
  ['rule 3: an absolute link, then a literal `..`', c([F('x')], [{ guest: '/m1', tree: [L('b', '/')] }], [['stat', '/m1', 'b/../x']])],
  ['rule 2: a path over 4096 bytes is NAMETOOLONG', c([F('a')], [{ guest: '/m1', tree: [] }], [['stat', '/', './'.repeat(2100) + 'a'], ['write', '/', './'.repeat(2100) + 'a', '', 'w1'], ['stat', '/', '../'.repeat(1400) + 'a']])],
  ['rule 10: a :ro preopen keeps its rights (EROFS, not NOTCAPABLE)', c([], [{ guest: '/m1', ro: true, tree: [F('f'), D('d')] }], [['mkdir', '/m1', 'x'], ['write', '/m1', 'f', '', 'w1'], ['utimes', '/m1', 'nope', '', '1'], ['opendir', '$1', '/m1', 'd', ''], ['unlink', '$1', 'nope']])],
  ['rule 10: opening for writing on :ro is EROFS / EISDIR at the open', c([], [{ guest: '/m1', ro: true, tree: [F('f'), D('d')] }], [['open', '/m1', 'f', 'w'], ['open', '/m1', 'd', 'r'], ['write', '/m1', 'd', '', 'w1']])],
  ["rule 10: Linux's precedence (NOENT, ISDIR, LOOP before ROFS)", c([], [{ guest: '/m1', ro: true, tree: [D('d'), L('up', '.')] }], [['write', '/m1', 'nope', 'a', 'w1'], ['utimes', '/', 'm1/nope', '', '1'], ['write', '/', 'm1/d', '', 'w1'], ['write', '/m1', 'up', 'an', 'w1']])],
  ['rule 10: unlink of a mount point on a :ro root is ROFS before ISDIR (seeds 985884743, 2066289304)', c([], [{ guest: '/b', tree: [] }], [['unlink', '/', 'b/'], ['unlink', '/', 'b']], true)],
  ['rule 10: a :ro root does not make a writable mount below it read-only', c([], [{ guest: '/b', tree: [] }], [['mkdir', '/', 'b/x'], ['utimes', '/', 'b', '', '1']], true)],
  ['open with O_CREAT of an existing directory is EISDIR', c([D('d')], [{ guest: '/m1', tree: [] }], [['open', '/', '.', 'c'], ['open', '/', 'd', 'c']])],
  ['rmdir/unlink/symlink of `link/` do not follow the link', c([L('ld', 'd'), D('d'), L('dang', 'nope')], [{ guest: '/m1', tree: [] }], [['rmdir', '/', 'ld/'], ['unlink', '/', 'ld/'], ['unlink', '/', 'dang/'], ['symlink', 'x', '/', 'dang/'], ['ls', '/', '.']])],
  ['readlink of `name/`', c([D('d')], [{ guest: '/m1', tree: [] }], [['readlink', '/', 'nope/'], ['readlink', '/', 'd/']])],
  ['rmdir of `dir/..` is ENOTEMPTY', c([D('d')], [{ guest: '/m1', tree: [] }], [['rmdir', '/', 'd/..']])],
  ["link and rename: the kernel's order of errors", c([F('b'), F('f')], [{ guest: '/m1', tree: [L('f', '/')] }], [['link', '/', '.', '/', 'b', ''], ['link', '/', 'nope', '/', 'f/x', ''], ['link', '/', 'nope', '/m1', 'x', ''], ['rename', '/m1', '.', '/m1', 'f/a']])],
  ['link of a mount point named with `/` (the mount\'s root): EXDEV before the directory\'s EPERM', c([], [{ guest: '/b', tree: [] }], [['link', '/', 'b/', '/', 'a', ''], ['link', '/', 'b', '/', 'a', ''], ['link', '/b', '.', '/', 'a', '']])],
  ['rule 9: a directory that holds a mount point is neither renamed nor removed (BUSY; Linux moves the mount)', c([D('a')], [{ guest: '/a/m2', tree: [F('in')] }], [['rename', '/', 'a', '/', 'z'], ['ls', '/', 'z/m2'], ['mkdir', '/', 'a'], ['ls', '/', 'a'], ['rmdir', '/', 'z/m2']])],
];
