// The CLI as a user meets it: exit codes, one-line errors for bad input, stdout left to the guest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertOneLineError } from './helpers.js';

// Runs record into a registry of this test file's own, never the user's ~/.wtm.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-test-home-'));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const guest = (name) => path.join(root, 'tests/guests', `${name}.wasm`);

function run(args, opts = {}) {
  return spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', timeout: 30000, ...opts, env: { ...process.env, WTM_HOME: home, ...(opts.env ?? {}) } });
}


test('hello runs and prints its arguments', () => {
  const r = run(['run', path.join(root, 'examples/hello.wasm'), 'a', 'b']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'hello from wasm a b\n');
});

test('--help explains run and the commands', () => {
  const r = run(['run', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--dir HOST:GUEST\[:ro\]/);
  assert.match(r.stdout, /--no-host/);
  assert.match(run(['--help']).stdout, /run MODULE/);
});

test('proc_exit(n) becomes the exit code', () => {
  const r = run(['run', guest('exit_code'), '7']);
  assert.equal(r.status, 7, r.stderr);
});

test('a trap prints the trap and the wasm stack and exits 134', () => {
  const r = run(['run', guest('trap')]);
  assert.equal(r.status, 134);
  assert.match(r.stderr, /wasm trap: unreachable/);
  assert.match(r.stderr, /wasm-function\[\d+\]/);
});

test('a missing module is one line, exit 1', () => {
  assertOneLineError(run(['run', '/nonexistent/x.wasm']), 1, /cannot read module \/nonexistent\/x.wasm: no such file/);
});

test('a malformed module is one line, exit 1', () => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-cli-')), 'bad.wasm');
  fs.writeFileSync(f, 'this is not wasm');
  assertOneLineError(run(['run', f]), 1, /not a WebAssembly module/);
  fs.writeFileSync(f, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0xff]));
  assertOneLineError(run(['run', f]), 1, /not a valid WebAssembly module/);
});

// A module from a pipe or a device is read as it comes: an endless one that is not wasm
// (/dev/zero, /dev/urandom) is given up at once, not read for ever; a real module from
// /dev/stdin still runs.
test('a module (or an image) from a device or a pipe: not wasm is one line at once; wasm runs', () => {
  for (const dev of ['/dev/zero', '/dev/urandom']) {
    assertOneLineError(run(['run', '--no-record', dev]), 1, new RegExp(`${dev} is not a WebAssembly module`));
    // An image is a file or a directory, never a device read whole.
    assertOneLineError(run(['image', 'import', dev]), 1, new RegExp(`${dev}: not a file or a directory`));
  }
  // Through a shell's pipe.
  const r = spawnSync('sh', ['-c', 'cat "$1" | "$2" "$3" run --no-record /dev/stdin piped', 'sh', path.join(root, 'examples/hello.wasm'), process.execPath, wtm], { encoding: 'utf8', timeout: 30000, env: { ...process.env, WTM_HOME: home } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'hello from wasm piped\n');
  // And from a socket, which /dev/stdin cannot open again: wtm reads its fd 0.
  const s = run(['run', '--no-record', '/dev/stdin', 'socket'], { input: fs.readFileSync(path.join(root, 'examples/hello.wasm')) });
  assert.equal(s.status, 0, s.stderr);
  assert.equal(s.stdout, 'hello from wasm socket\n');
});

// A hostile OCI layout: its index.json a link to /dev/zero, or a FIFO, or a blob that is a
// link: each one line, at once (the link was followed and /dev/zero read for ever; a FIFO
// blocked the open).
test('a hostile image layout (links, a FIFO) is one line, at once', () => {
  const layout = (name) => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `wtm-layout-${name}-`)), 'img');
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    return dir;
  };
  const linked = layout('link');
  fs.symlinkSync('/dev/zero', path.join(linked, 'index.json'));
  assertOneLineError(run(['image', 'import', linked]), 1, /index\.json is a symbolic link/);
  const fifo = layout('fifo');
  assert.equal(spawnSync('mkfifo', [path.join(fifo, 'index.json')]).status, 0);
  assertOneLineError(run(['image', 'import', fifo]), 1, /index\.json is not a regular file/);
  const blob = layout('blob');
  const digest = 'a'.repeat(64);
  fs.writeFileSync(path.join(blob, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${digest}`, size: 10, annotations: { 'org.opencontainers.image.ref.name': 'x' } }] }));
  fs.symlinkSync('/dev/zero', path.join(blob, 'blobs', 'sha256', digest));
  assertOneLineError(run(['image', 'import', blob]), 1, new RegExp(`blob sha256:${digest} is a symbolic link`));
});

// A guest whose output is gone gets EPIPE from fd_write (WASI has no SIGPIPE): the example
// cat stops on it, so `yes | wtm run cat | head` ends (it ran for ever).
test('yes | wtm run examples/cat.wasm | head -2 ends: the guest sees EPIPE and stops', () => {
  const r = spawnSync('sh', ['-c', 'yes | "$1" "$2" run --no-record "$3" | head -2', 'sh', process.execPath, wtm, path.join(root, 'examples/cat.wasm')], { encoding: 'utf8', timeout: 30000, env: { ...process.env, WTM_HOME: home } });
  assert.equal(r.signal, null, 'ended by itself');
  assert.equal(r.stdout, 'y\ny\n');
});

test('a module importing something wtm lacks is named, exit 1', () => {
  // (module (import "env" "nope" (func)) (func (export "_start")))
  const bytes = Buffer.from('0061736d01000000010401600000020c0103656e76046e6f7065000003020100070a01065f73746172740001' + '0a040102000b', 'hex');
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-cli-')), 'imp.wasm');
  fs.writeFileSync(f, bytes);
  assertOneLineError(run(['run', f]), 1, /imports env\.nope/);
});

test('wrong flags are one line, exit 2', () => {
  assertOneLineError(run(['run', '--frobnicate', 'x.wasm']), 2, /unknown flag --frobnicate/);
  assertOneLineError(run(['run']), 2, /needs a MODULE/);
  assertOneLineError(run(['run', '--dir', 'nocolon', 'x.wasm']), 2, /HOST:GUEST/);
  assertOneLineError(run(['run', '--dir', '/tmp:relative', 'x.wasm']), 2, /must be absolute/);
  assertOneLineError(run(['run', '--env', '=VALUE', 'x.wasm']), 2, /NAME=VALUE/);
  assertOneLineError(run(['nosuchcommand']), 2, /unknown command/);
});

test('a mount of a missing directory is one line, exit 1', () => {
  assertOneLineError(run(['run', '--dir', '/nonexistent/dir:/data', path.join(root, 'examples/hello.wasm')]), 1, /cannot mount \/nonexistent\/dir/);
});

// Node's own recursive mkdir loops for ever where mkdir answers ENOENT under an existing
// parent (/proc): a registry there hung every command.
test('a registry that cannot be made is one line, exit 1, at once (not a hang)', () => {
  for (const args of [['get', 'processes'], ['run', path.join(root, 'examples/hello.wasm')]]) {
    assertOneLineError(run(args, { env: { WTM_HOME: '/proc/wtm-no-such-registry' } }), 1, /cannot open the registry \/proc\/wtm-no-such-registry: ENOENT/);
  }
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-regfile-')), 'f');
  fs.writeFileSync(file, '');
  assertOneLineError(run(['get', 'processes', '--registry', path.join(file, 'sub')]), 1, /cannot open the registry .*: ENOTDIR/);
});

test('trusted mode: relative paths resolve against the cwd, absolute against the host root', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-cwd-'));
  fs.writeFileSync(path.join(dir, 'rel.txt'), 'relative file\n');
  const abs = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-abs-')), 'abs.txt');
  fs.writeFileSync(abs, 'absolute file\n');
  const r = run(['run', guest('cwd'), 'rel.txt', abs], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /rel rel\.txt: relative file/);
  assert.match(r.stdout, /abs .*abs\.txt: absolute file/);
});

// `.` is the current directory's guest path; a mount over it takes relative paths into the
// mount. Where the mount has no such directory, one clear line (it was a worker's "cannot
// preopen ... (errno 44)"); where it has one, relative paths use it.
test('a mount that covers the current directory: one line when the mount lacks it, else relative paths go into it', () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-cover-'));
  const cwd = path.join(top, 'work', 'sub');
  fs.mkdirSync(cwd, { recursive: true });
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-cover-mount-'));
  assertOneLineError(run(['run', '--dir', `${other}:${path.join(top, 'work')}`, guest('cwd'), 'rel.txt', '/etc/hostname'], { cwd }), 1,
    /the mount of .* covers the current directory .*work\/sub, and has no .*sub for relative paths/);
  fs.mkdirSync(path.join(other, 'sub'));
  fs.writeFileSync(path.join(other, 'sub', 'rel.txt'), 'in the mount\n');
  const r = run(['run', '--dir', `${other}:${path.join(top, 'work')}`, guest('cwd'), 'rel.txt', '/etc/hostname'], { cwd });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /rel rel\.txt: in the mount/);
});

test('--no-host: the host is not visible, the environment is only --env', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-nohost-'));
  fs.writeFileSync(path.join(dir, 'rel.txt'), 'relative file\n');
  const r = run(['run', '--no-host', guest('cwd'), 'rel.txt', '/etc/hostname'], { cwd: dir });
  assert.doesNotMatch(r.stdout, /relative file/);
  assert.match(r.stdout, /abs \/etc\/hostname: .*(No such file|error|cannot)/i);
});

test('export to a directory that does not exist is one line, exit 1; an export file is private to its user', () => {
  const r = run(['run', path.join(root, 'examples/hello.wasm')]);
  assert.equal(r.status, 0, r.stderr);
  const id = /wtm: process (\S+)/.exec(r.stderr)[1];
  assertOneLineError(run(['export', id, path.join(home, 'no', 'such', 'dir', 'x.wtm')]), 1, /^wtm export: cannot write .*x\.wtm: ENOENT$/);
  const file = path.join(home, 'x.wtm');
  const ok = run(['export', id, file]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('a new registry is private to its user: directories 0700, every record and blob 0600 (the environment is in them)', () => {
  const fresh = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-private-')), 'reg');
  const r = spawnSync(process.execPath, [wtm, 'run', path.join(root, 'examples/hello.wasm')], { encoding: 'utf8', env: { ...process.env, WTM_HOME: fresh, MY_API_TOKEN: 'secret' } });
  assert.equal(r.status, 0, r.stderr);
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(d, e.name);
    return e.isDirectory() ? [[p, 'd'], ...walk(p)] : [[p, 'f']];
  });
  assert.equal(fs.statSync(fresh).mode & 0o777, 0o700);
  const all = walk(fresh).filter(([p]) => /\/(records|blobs)(\/|$)/.test(p));
  assert.ok(all.some(([p]) => p.includes('/records/config/')));
  for (const [p, kind] of all) assert.equal(fs.statSync(p).mode & 0o777, kind === 'd' ? 0o700 : 0o600, p);
});

test('describe names the environment variables a run was given, never their values', () => {
  const r = run(['run', path.join(root, 'examples/hello.wasm')], { env: { MY_API_TOKEN: 'sekrit-value-42' } });
  assert.equal(r.status, 0, r.stderr);
  const id = /wtm: process (\S+)/.exec(r.stderr)[1];
  const text = run(['describe', id]);
  assert.match(text.stdout, /Env: +\d+ variables \(values stored in the registry, not shown\)/);
  assert.match(text.stdout, /\bMY_API_TOKEN\b/);
  const json = run(['describe', '-o', 'json', id]);
  assert.ok(JSON.parse(json.stdout).config.envNames.includes('MY_API_TOKEN'));
  for (const out of [text.stdout, json.stdout]) assert.doesNotMatch(out, /sekrit-value-42/);
});

test('messages a new user meets: version, a module without run, one prefix, the flag and mode named, the file named', () => {
  const v = run(['--version']);
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^wtm \d+\.\d+\.\d+ \(node /);
  assert.equal(run(['version']).stdout, v.stdout);
  const direct = run([path.join(root, 'examples/hello.wasm'), 'x']);
  assert.equal(direct.status, 0, direct.stderr);
  assert.equal(direct.stdout, 'hello from wasm x\n');
  assertOneLineError(run(['run']), 2, /^wtm run: needs a MODULE/);
  assertOneLineError(run(['get', 'processes', '-o']), 2, /^wtm get: -o needs a value/);
  assertOneLineError(run(['run', '--dir', `${os.tmpdir()}:/x:rx`, guest('exit_code')]), 2, /unknown mount mode 'rx' \(ro: read-only, rw: read-write/);
  assertOneLineError(run(['run', '/no/such/module.wasm']), 1, /cannot read module \/no\/such\/module.wasm: no such file$/);
  const notWasm = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-notwasm-')), 'x.wasm');
  fs.writeFileSync(notWasm, 'hello\n');
  assertOneLineError(run(['run', notWasm]), 1, /is not a WebAssembly module \(a .wasm file starts with the bytes \\0asm\)/);
  assertOneLineError(run(['image', 'frob']), 2, /\(import, pull, tag, ls, rm\)/);
  assert.match(run(['--help']).stdout, /image import\|pull\|tag\|ls\|rm/);
});

test('get processes ID shows that process; -q prints ids; export to a directory is refused, export - writes stdout', () => {
  const a = run(['run', path.join(root, 'examples/hello.wasm'), 'one']);
  const b = run(['run', path.join(root, 'examples/hello.wasm'), 'two']);
  const [ida, idb] = [a, b].map((r) => /wtm: process (\S+)/.exec(r.stderr)[1]);
  const one = JSON.parse(run(['get', 'processes', ida.slice(0, 13), '-o', 'json']).stdout);
  assert.deepEqual(one.map((r) => r.id), [ida]);
  const quiet = run(['get', 'processes', '-q']).stdout.trim().split('\n');
  assert.ok(quiet.includes(ida) && quiet.includes(idb));
  assert.ok(quiet.every((l) => /^[0-9a-f-]{36}$/.test(l)));
  assertOneLineError(run(['get', 'modules', ida]), 2, /IDs are taken by 'get processes' only/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-export-dir-'));
  assertOneLineError(run(['export', ida, dir]), 1, /is a directory: give the file to write/);
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing left behind');
  const file = path.join(dir, 'a.wtm');
  assert.equal(run(['export', ida, file]).status, 0);
  const piped = spawnSync(process.execPath, [wtm, 'export', ida, '-'], { env: { ...process.env, WTM_HOME: home } });
  assert.equal(piped.status, 0, String(piped.stderr));
  assert.deepEqual(piped.stdout, fs.readFileSync(file));
});

test('did you mean: a mistyped command or flag names the nearest one', () => {
  assertOneLineError(run(['rnu', 'x.wasm']), 2, /unknown command 'rnu' \(did you mean 'wtm run'\?\)/);
  assertOneLineError(run(['run', '--dri', '/tmp:/x', 'x.wasm']), 2, /unknown flag --dri \(did you mean --dir\?\)/);
  assertOneLineError(run(['get', 'processes', '--outptu', 'json']), 2, /did you mean --output\?/);
  assertOneLineError(run(['xyzzy']), 2, /unknown command 'xyzzy' \(try 'wtm --help'\)/);
});

test('completion scripts: valid bash, every command, each command\'s flags from its help', () => {
  const bash = run(['completion', 'bash']);
  assert.equal(bash.status, 0, bash.stderr);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-compl-')), 'wtm.bash');
  fs.writeFileSync(file, bash.stdout);
  assert.equal(spawnSync('bash', ['-n', file]).status, 0, 'bash accepts the script');
  const complete = (...words) => spawnSync('bash', ['-c', `source ${file}; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _wtm; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).stdout.trim();
  assert.equal(complete('wtm', 'tra'), 'trace');
  assert.equal(complete('wtm', 'run', '--tr'), '--trace --trace-width');
  assert.equal(complete('wtm', 'trace', '--t'), '--to --tasks');
  assert.equal(complete('wtm', 'image', 'p'), 'pull');
  assert.match(run(['completion', 'zsh']).stdout, /bashcompinit/);
  assertOneLineError(run(['completion', 'fish']), 2, /bash or zsh \(not fish\)/);
});

test('flags as util.parseArgs reads them: global flags before the command, grouped short flags, a closed pipe is quiet', () => {
  const reg = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-global-'));
  const r = run(['--registry', reg, 'run', path.join(root, 'examples/hello.wasm')]);
  assert.equal(r.status, 0, r.stderr);
  const id = /wtm: process (\S+)/.exec(r.stderr)[1];
  assert.deepEqual(JSON.parse(run(['-o', 'json', `--registry=${reg}`, 'get', 'processes']).stdout).map((p) => p.id), [id]);
  assert.equal(run(['get', 'processes', '--registry', reg, '-qo', 'json']).stdout, `${id}\n`);
  assertOneLineError(run(['--registry']), 2, /--registry needs a command after it/);
  const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${wtm}" get processes -o json --registry "${reg}" | head -c 1`], { encoding: 'utf8' });
  assert.equal(piped.stdout, '[');
  assert.equal(piped.stderr, '');
});

test('a .wat text module runs (WABT parses it), is recorded as its binary, and a bad one is one line', () => {
  const wat = path.join(root, 'tests/fixtures/hello.wat');
  const r = run([wat]);
  assert.equal(r.status, 3, r.stderr);
  assert.equal(r.stdout, 'hello from wat\n');
  const id = /wtm: process (\S+)/.exec(r.stderr)[1];
  const replay = run(['replay', id]);
  assert.equal(replay.status, 3, replay.stderr);
  assert.equal(replay.stdout, 'hello from wat\n');
  const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-wat-')), 'bad.wat');
  fs.writeFileSync(bad, '(module (func (export "_start") (bad)))');
  assertOneLineError(run(['run', bad]), 1, /bad.wat is not a valid WebAssembly text module: line 1, column \d+: unexpected token "bad"/);
});

test('--argv0 names the guest\'s argv[0]', () => {
  const r = run(['run', '--argv0', 'myprog', path.join(root, 'examples/hello.wasm'), 'x']);
  assert.equal(r.status, 0, r.stderr);
  const id = /wtm: process (\S+)/.exec(r.stderr)[1];
  assert.deepEqual(JSON.parse(run(['trace', id, '--call', 'args_get', '-o', 'json']).stdout).result, ['myprog', 'x']);
});

test('image pull of a plain-HTTP registry without --insecure says so, one line', async () => {
  const http = await import('node:http');
  const { execFile } = await import('node:child_process');
  const server = http.createServer((_q, r) => r.end('{}')).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const r = await new Promise((resolve) => execFile(process.execPath, [wtm, 'image', 'pull', `127.0.0.1:${server.address().port}/app:1`], { env: { ...process.env, WTM_HOME: home } }, (err, stdout, stderr) => resolve({ status: err ? err.code : 0, stdout, stderr })));
    assertOneLineError(r, 1, /speaks plain HTTP, not HTTPS: pull it with --insecure/);
  } finally {
    server.close();
  }
});

test('--invoke calls an exported function of a reactor after _initialize, prints its results, and replays', () => {
  const calc = path.join(root, 'tests/fixtures/calc.wat');
  const add = run(['run', '--invoke', 'add', calc, '2', '3']);
  assert.equal(add.status, 0, add.stderr);
  assert.equal(add.stdout, '105\n', '_initialize ran first (it adds 100)');
  assert.equal(run(['run', '--invoke', 'mul64', calc, '4294967296', '3']).stdout, '12884901888\n', 'i64 as BigInt, exact');
  assert.equal(run(['run', '--invoke', 'half', calc, '5']).stdout, '2.5\n');
  const id = /wtm: process (\S+)/.exec(add.stderr)[1];
  const replay = run(['replay', id]);
  assert.equal(replay.status, 0, replay.stderr);
  assert.equal(replay.stdout, '105\n');
  assertOneLineError(run(['run', '--invoke', 'nope', calc]), 1, /exports no function nope \(it exports add, mul64, half\)/);
  assertOneLineError(run(['run', '--invoke', 'add', calc, '1']), 1, /add takes 2 arguments \(i32, i32\), got 1/);
  assertOneLineError(run(['run', '--invoke', 'add', calc, 'x', '1']), 1, /argument 1 \(i32\) is not a number: x/);
  assertOneLineError(run(['run', calc]), 1, /no _start export: it is not a WASI command \(a reactor\? call one of its functions with --invoke FUNC\)/);
});

test('export - | import - moves a process through a pipe', () => {
  const r = run(['run', path.join(root, 'examples/hello.wasm'), 'piped']);
  const id = /wtm: process (\S+)/.exec(r.stderr)[1];
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-pipe-'));
  const moved = spawnSync('bash', ['-c', `WTM_HOME="${home}" "${process.execPath}" "${wtm}" export ${id} - | WTM_HOME="${other}" "${process.execPath}" "${wtm}" import -`], { encoding: 'utf8' });
  assert.equal(moved.status, 0, moved.stderr);
  assert.equal(moved.stdout, `${id}\n`);
  const replay = spawnSync(process.execPath, [wtm, 'replay', id], { encoding: 'utf8', env: { ...process.env, WTM_HOME: other } });
  assert.equal(replay.stdout, 'hello from wasm piped\n');
  assertOneLineError(spawnSync(process.execPath, [wtm, 'import', '-'], { encoding: 'utf8', input: 'not an export', env: { ...process.env, WTM_HOME: other } }), 1, /not|export/);
});

test('wtm config: the settings file gives the registry and run defaults; a flag wins; a bad key is one line; --edit', () => {
  const h = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-config-'));
  const env = { ...process.env, WTM_HOME: h };
  const cfg = (args, extra = {}) => spawnSync(process.execPath, [wtm, ...args], { encoding: 'utf8', input: '', env: { ...env, ...extra } });
  assert.match(cfg(['config']).stdout, /none: defaults/);
  const elsewhere = path.join(h, 'records');
  fs.writeFileSync(path.join(h, 'config.yaml'), `registry: ${elsewhere}\nrun:\n  timeout: 300ms\n`);
  const shown = JSON.parse(cfg(['config', '-o', 'json']).stdout);
  assert.equal(shown.registry, elsewhere);
  assert.deepEqual(shown.run, { timeout: '300ms' });
  const ticker = guest('ticker');
  const stopped = cfg(['run', ticker, '50']);
  assert.equal(stopped.status, 124, 'the timeout came from the settings');
  assert.match(stopped.stderr, /timed out after 300 ms/);
  const id = /wtm: process (\S+)/.exec(stopped.stderr)[1];
  assert.ok(fs.existsSync(path.join(elsewhere, 'records')), 'recorded in the registry the settings name');
  assert.equal(JSON.parse(cfg(['get', 'processes', '-o', 'json']).stdout)[0].id, id);
  assert.equal(cfg(['run', '--timeout', '600ms', ticker, '50']).stderr.match(/timed out after (\d+) ms/)[1], '600', 'the flag wins');
  fs.writeFileSync(path.join(h, 'config.yaml'), 'run:\n  tmeout: 1s\n');
  assertOneLineError(cfg(['run', path.join(root, 'examples/hello.wasm')]), 1, /config.yaml: unknown setting run.tmeout \(known: timeout/);
  fs.rmSync(path.join(h, 'config.yaml'));
  const edited = cfg(['config', '--edit'], { EDITOR: `sh -c 'printf "run:\\n  max-tasks: 2\\n" > "$0"'`, VISUAL: '' });
  assert.equal(edited.status, 0, edited.stderr);
  assert.deepEqual(JSON.parse(cfg(['config', '-o', 'json']).stdout).run, { 'max-tasks': 2 });
});

test('wtm help CMD shows that command\'s help; an unknown one is one line', () => {
  const h = run(['help', 'trace']);
  assert.equal(h.status, 0);
  assert.equal(h.stdout, run(['trace', '--help']).stdout);
  assertOneLineError(run(['help', 'tarce']), 2, /no command 'tarce' \(did you mean 'trace'\?\)/);
});
