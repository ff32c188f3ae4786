// Every command the README shows in an `sh` block runs as written, in a copy of the repo's
// examples, against a registry of its own (`npx wtm` is this checkout's bin/wtm.js; `ID` is
// the process the block's last run recorded). The quick start's `npm` lines are what CI runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1].split('\n').filter((l) => l.trim() !== ''));

/** A README command as bash runs it: `npx wtm` is this checkout's CLI, ID the last process. */
function shell(line, lastId) {
  return line
    .replace(/^npx wtm\b/, `"${process.execPath}" "${path.join(root, 'bin/wtm.js')}"`)
    .replace(/\bID\b/g, lastId ?? 'ID');
}

test('the README shows commands in sh blocks', () => {
  assert.ok(blocks.length >= 4, `${blocks.length} blocks`);
  assert.ok(blocks.flat().filter((l) => l.startsWith('npx wtm')).length >= 10);
});

for (const [i, lines] of blocks.entries()) {
  if (lines.every((l) => l.startsWith('npm '))) continue; // the quick start: what CI itself runs
  test(`README sh block ${i + 1} runs as written: ${lines[0]}`, () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-readme-'));
    fs.cpSync(path.join(root, 'examples'), path.join(cwd, 'examples'), { recursive: true });
    // examples/make-image.mjs imports tar-stream: it resolves from the checkout's node_modules.
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(cwd, 'node_modules'));
    const env = { ...process.env, WTM_HOME: path.join(cwd, '.wtm') };
    let lastId;
    for (const line of lines) {
      const r = spawnSync('bash', ['-c', shell(line, lastId)], { cwd, env, encoding: 'utf8', input: '', timeout: 60000 });
      assert.equal(r.status, 0, `${line}\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/, `${line}: a stack trace`);
      lastId = /wtm: process ([0-9a-f-]{36})/.exec(r.stderr)?.[1] ?? lastId;
    }
  });
}
