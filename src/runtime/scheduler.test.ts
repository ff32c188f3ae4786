import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalTaskQueue } from './scheduler.js';
import type { TaskResult } from './tasks.js';

const done = (id: string): TaskResult => ({
  id, state: 'success', exitCode: 0, stdout: new Uint8Array(), stderr: new Uint8Array(),
  stdoutTruncated: false, stderrTruncated: false, root: '',
});

test('a queue keeps the last settled tasks only, without their module bytes and stdin', async () => {
  const q = new LocalTaskQueue(async (id) => done(id), 2, {}, 3);
  const handles = [];
  for (let i = 0; i < 5; i++) handles.push(q.submit({ module: new Uint8Array(1000), stdin: 'x'.repeat(1000) }));
  for (const h of handles) assert.equal((await h.wait()).state, 'success');
  const listed = q.list();
  assert.deepEqual(listed.map((t) => t.id), handles.slice(2).map((h) => h.id));
  for (const t of listed) {
    assert.equal(t.spec.module, '1000 bytes');
    assert.equal(t.spec.stdin, undefined);
  }
  // A handle still answers; a forgotten id does not.
  assert.equal((await handles[0]!.wait()).state, 'success');
  await assert.rejects(q.wait(handles[0]!.id), /no task/);
  assert.equal((await q.wait(handles[4]!.id)).state, 'success');
  await q.close();
});
