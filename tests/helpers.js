// Shared by the test files: a digest of a whole directory tree, to prove nothing in it changed.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

/**
 * A tar of `entries` ({ name, type?, data?, linkname?, mode? }), built with tar-stream so a
 * test can make any archive, hostile ones included.
 */
export async function tarOf(entries) {
  const { default: tar } = await import('tar-stream');
  const pack = tar.pack();
  const chunks = [];
  pack.on('data', (c) => chunks.push(c));
  const ended = new Promise((r) => pack.on('end', r));
  for (const e of entries) {
    await new Promise((resolve, reject) => {
      const h = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode ?? 0o644, mtime: new Date(1700000000000) };
      const done = (err) => (err ? reject(err) : resolve());
      if (h.type === 'file') pack.entry(h, Buffer.from(e.data ?? ''), done);
      else pack.entry(h, done);
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** A bad-input answer of the CLI: exit `code`, one line on stderr matching `pattern`, no stack trace, nothing on stdout. */
export function assertOneLineError(r, code, pattern) {
  assert.equal(r.status, code, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/);
}

const WTM = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'wtm.js');

/**
 * `wtm ARGS` against the registry in `home`, stdin empty: spawnSync's result. `record(args)`
 * runs `wtm run --no-host ARGS` and answers the recorded process id.
 */
export function wtmIn(home, { timeout = 60000 } = {}) {
  const cli = (args, opts = {}) => spawnSync(process.execPath, [WTM, ...args], { encoding: 'utf8', input: '', timeout, cwd: opts.cwd, env: { ...process.env, WTM_HOME: home } });
  const record = (args) => processIdOf(cli(['run', '--no-host', ...args]));
  return { cli, record };
}

/** The process id a recorded `wtm run` printed on stderr (asserted present). */
export function processIdOf(r) {
  const id = /wtm: process ([0-9a-f-]{36})/.exec(r.stderr)?.[1];
  assert.ok(id, r.stderr);
  return id;
}
