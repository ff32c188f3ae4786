// `wtm trace`, checked against guests whose calls are known from their own program text
// (tests/guests/story.c, trace_tasks.c), not against the trace's earlier output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertOneLineError, processIdOf, wtmIn } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guest = (name) => path.join(root, 'tests/guests', `${name}.wasm`);
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-trace-'));
const { cli } = wtmIn(home);

/** A trace line without its time, record number and duration: what the guest did. */
const what = (line) => line.replace(/^\s*[\d.]+ ms {2}#\d+ /, '').replace(/ {2}<[^>]+>$/, '');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-trace-work-'));
const story = cli(['run', '--dir', `${work}:/data`, guest('story'), '/data']);
const storyId = processIdOf(story);

test('the story guest ran as its source says', () => {
  assert.equal(story.status, 0, story.stderr);
  assert.equal(story.stdout, 'story done\n');
  assert.deepEqual(fs.readdirSync(work), ['sub']);
});

test('trace lists exactly the file calls the guest made, decoded, in order', () => {
  const calls = 'path_open,fd_write,fd_seek,fd_read,fd_close,path_rename,path_create_directory,path_unlink_file';
  const r = cli(['trace', storyId, '--path', '/data', '--call', calls]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n').map(what);
  const [, dir, file] = /^path_open\(fd=(\d+), .*\) = (\d+)$/.exec(lines[0]) ?? [];
  assert.ok(dir && file, lines[0]);
  const rights = (s) => s.replace(/rights(Base|Inheriting)=[^,]+/g, 'rights$1=R');
  assert.deepEqual(lines.map(rights), [
    `path_open(fd=${dir}, lookupFlags=0, path="story.txt", oflags=CREAT|TRUNC, rightsBase=R, rightsInheriting=R, fdflags=0) = ${file}`,
    `fd_write(fd=${file}, iovs="hello trace\\n") = 12`,
    `fd_seek(fd=${file}, offset=0, whence=SET) = 0`,
    `fd_read(fd=${file}, iovs=5) = 5 "hello"`,
    `fd_close(fd=${file}) = 0`,
    `path_rename(fd=${dir}, oldPath="story.txt", newFd=${dir}, newPath="renamed.txt") = 0`,
    `path_open(fd=${dir}, lookupFlags=0, path="missing.txt", oflags=0, rightsBase=R, rightsInheriting=R, fdflags=0) = NOENT`,
    `path_create_directory(fd=${dir}, path="sub") = 0`,
    `path_open(fd=${dir}, lookupFlags=0, path="renamed.txt", oflags=0, rightsBase=R, rightsInheriting=R, fdflags=0) = ${file}`,
    `fd_read(fd=${file}, iovs=64) = 12 "hello trace\\n"`,
    `fd_read(fd=${file}, iovs=64) = 0 ""`,
    `fd_close(fd=${file}) = 0`,
    `path_unlink_file(fd=${dir}, path="renamed.txt") = 0`,
  ]);
  // R_ALL of the guest (every right but the two socket ones), by name.
  assert.match(lines[0], /rightsBase=ALL&~\(SOCK_SHUTDOWN\|SOCK_ACCEPT\)/);
  // Each line: the time, the record number, the call, the duration.
  assert.match(r.stdout.split('\n')[0], /^\s+\d+\.\d{3} ms {2}#\d+ path_open\(.*\) = \d+ {2}<[\d.]+ (ns|µs|ms|s)>$/);
});

test('--errors shows only the failed call; --fd only the calls on that fd', () => {
  const errors = cli(['trace', storyId, '--errors']);
  assert.equal(errors.status, 0, errors.stderr);
  const lines = errors.stdout.trimEnd().split('\n').map(what);
  // The preopen scan ends with one BADF (the fd after the last preopen): libc's, then the guest's own search.
  const own = lines.filter((l) => !l.startsWith('fd_prestat_get'));
  assert.equal(own.length, 1, errors.stdout);
  assert.match(own[0], /^path_open\(.*path="missing.txt".*\) = NOENT$/);
  for (const l of lines.filter((x) => x.startsWith('fd_prestat_get'))) assert.match(l, /= BADF$/);

  const file = /\) = (\d+)$/.exec(what(cli(['trace', storyId, '--call', 'path_open', '--path', '/data/story.txt']).stdout.trim()))[1];
  const onFd = cli(['trace', storyId, '--fd', file]).stdout.trimEnd().split('\n').map(what).map((l) => l.replace(/\(.*/, ''));
  assert.deepEqual(onFd, ['path_open', 'fd_write', 'fd_seek', 'fd_read', 'fd_close', 'path_open', 'fd_read', 'fd_read', 'fd_close']);
});

test('-o json writes one object per call, every call of the log, with named args and outputs', () => {
  const r = cli(['trace', storyId, '-o', 'json']);
  assert.equal(r.status, 0, r.stderr);
  const calls = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  const described = JSON.parse(cli(['describe', storyId, '-o', 'json']).stdout);
  assert.equal(calls.length, described.log.calls);
  calls.forEach((c, i) => { assert.equal(c.index, i); });
  const read = calls.find((c) => c.call === 'fd_read' && c.result === 5);
  assert.equal(read.data.text, 'hello');
  assert.equal(read.args.iovs, 5);
  const missing = calls.find((c) => c.args.path === 'missing.txt');
  assert.equal(missing.errno, 'NOENT');
  assert.equal(missing.names.oflags, undefined); // 0 reads as 0: no name to add
  const created = calls.find((c) => c.args.path === 'story.txt' && c.call === 'path_open');
  assert.equal(created.names.oflags, 'CREAT|TRUNC');
  assert.equal(calls[0].call, 'args_get');
  assert.deepEqual(calls[0].result, [guest('story'), '/data']);
});

test('--from and --to show exactly those records', () => {
  const r = cli(['trace', storyId, '--from', '3', '--to', '7']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trimEnd().split('\n').map((l) => Number(/#(\d+) /.exec(l)[1])), [3, 4, 5, 6, 7]);
});

test('--tasks interleaves the calls of a process and its tasks, each line naming its process', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-trace-tasks-'));
  fs.copyFileSync(path.join(root, 'examples/hello.wasm'), path.join(dir, 'hello.wasm'));
  const run = cli(['run', '--dir', `${dir}:/data`, guest('trace_tasks'), '/data']);
  assert.equal(run.status, 0, run.stderr);
  const parent = processIdOf(run);
  const r = cli(['trace', parent, '--tasks', '--call', 'args_get,fd_write,wtm.task_submit']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  const who = (l) => l.slice(0, 8);
  assert.equal(new Set(lines.map(who)).size, 3, r.stdout);
  assert.ok(lines.every((l) => /^[0-9a-f]{8} /.test(l)));
  for (const t of ['t1', 't2']) {
    const submit = lines.findIndex((l) => l.includes(`task_submit(spec=`) && l.includes(`\\"${t}\\"`));
    const task = lines.find((l) => l.includes(`fd_write(fd=1, iovs="hello from wasm ${t}\\n")`));
    assert.ok(submit >= 0 && task, r.stdout);
    const args = lines.findIndex((l) => who(l) === who(task) && l.includes('args_get'));
    assert.ok(submit < args, `task ${t} starts after it was submitted:\n${r.stdout}`);
  }
  // Times are from the first process's start: non-decreasing down the page.
  const times = lines.map((l) => Number(/^\S+\s+([\d.]+) ms/.exec(l)[1]));
  assert.deepEqual(times, [...times].sort((a, b) => a - b));
  // Without --tasks, only the parent's own calls.
  assert.ok(cli(['trace', parent]).stdout.split('\n').every((l) => !/^[0-9a-f]{8} /.test(l)));
});

test('bad input: one line, non-zero exit', () => {
  assertOneLineError(cli(['trace']), 2, /needs one process ID/);
  assertOneLineError(cli(['trace', storyId, '--call', 'fd_raed']), 2, /unknown call fd_raed/);
  assertOneLineError(cli(['trace', storyId, '--fd', 'x']), 2, /--fd needs a whole number/);
  assertOneLineError(cli(['trace', storyId, '--from', '9', '--to', '2']), 2, /--from 9 is after --to 2/);
  assertOneLineError(cli(['trace', storyId, '-o', 'yaml']), 2, /expected text or json/);
  assertOneLineError(cli(['trace', 'ffffffff']), 1, /ffffffff/);
});

test('a closed pipe ends the trace quietly', () => {
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${wtm}" trace ${storyId} | head -n 2`], { encoding: 'utf8', env: { ...process.env, WTM_HOME: home } });
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trimEnd().split('\n').length, 2);
  assert.equal(r.stderr, '');
});

test('--fs tells the file-system story the guest\'s source describes, with a table per file', () => {
  const r = cli(['trace', storyId, '--fs']);
  assert.equal(r.status, 0, r.stderr);
  const [events, table] = r.stdout.split('\n\n');
  assert.deepEqual(events.trim().split('\n').map((l) => l.replace(/^\s*[\d.]+ ms {2}#\d+ /, '').replace(/\s+/g, ' ')), [
    'create /data/story.txt (read,write,create,trunc)',
    'rename /data/story.txt -> /data/renamed.txt',
    'open /data/missing.txt (read) = NOENT',
    'mkdir /data/sub',
    'open /data/renamed.txt (read)',
    'delete /data/renamed.txt',
  ]);
  const rows = table.trim().split('\n').map((l) => l.split(/ {2,}/));
  assert.deepEqual(rows[0], ['PATH', 'OPENS', 'MODES', 'READ', 'WRITTEN', 'ERRORS', 'FATE']);
  assert.deepEqual(rows.slice(1), [
    ['/data/missing.txt', '0', '-', '0 B', '0 B', '1', '-'],
    ['/data/renamed.txt', '1', 'read', '12 B', '0 B', '0', 'deleted'],
    ['/data/story.txt', '1', 'read,write,create,trunc', '5 B', '12 B', '0', 'created, renamed to /data/renamed.txt'],
    ['/data/sub', '0', '-', '0 B', '0 B', '0', 'created'],
  ]);
  const json = JSON.parse(cli(['trace', storyId, '--fs', '--path', '/data/story.txt', '-o', 'json']).stdout);
  assert.deepEqual(json.events.map((e) => e.kind), ['create', 'rename']);
  assert.deepEqual(json.files.map((f) => [f.path, f.bytesRead, f.bytesWritten]), [['/data/story.txt', 5, 12]]);
  assertOneLineError(cli(['trace', storyId, '--fs', '--tasks']), 2, /leave out --tasks/);
});
