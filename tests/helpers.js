// Shared by the test files: a digest of a whole directory tree, to prove nothing in it changed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** sha256 over every path, mode, size, mtime, link target and file content under dir. */
export function treeDigest(dir) {
  const h = crypto.createHash('sha256');
  const walk = (d) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      h.update(`${path.relative(dir, p)}|${st.mode}|${st.size}|${st.mtimeMs}\n`);
      if (st.isDirectory()) walk(p);
      else if (st.isSymbolicLink()) h.update(fs.readlinkSync(p));
      else h.update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}
