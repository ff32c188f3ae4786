// The npm package as a user gets it: `npm pack`, installed into a fresh project, its CLI runs
// a module, and a TypeScript consumer of Runtime.run and runtime.spawn type-checks and runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('the packed package installs into a fresh project: CLI, library and types work', { timeout: 300_000 }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-pkg-'));
  const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  const info = JSON.parse(pack.stdout)[0];
  const files = info.files.map((f) => f.path);
  assert.ok(files.includes('LICENSE') && files.includes('dist/index.d.ts') && files.includes('dist/bundle/cli.mjs'));
  assert.ok(!files.some((f) => f.endsWith('.test.js') || f.endsWith('.map') || f.startsWith('src/')), 'no tests, no maps of unshipped sources');
  console.log(`# packed ${(info.size / 1024).toFixed(1)} kB, unpacked ${(info.unpackedSize / 1024).toFixed(1)} kB, ${info.entryCount} files`);

  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', path.join(dir, info.filename)], { cwd: app, encoding: 'utf8', timeout: 240_000 });
  if (install.status !== 0 && /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|network/i.test(install.stderr)) {
    t.skip(`the npm registry is not reachable: ${install.stderr.split('\n')[0]}`);
    return;
  }
  assert.equal(install.status, 0, install.stderr);
  assert.doesNotMatch(install.stderr, /prepare|tsc/, 'installing the tarball builds nothing');

  const hello = path.join(root, 'examples/hello.wasm');
  const cli = spawnSync(path.join(app, 'node_modules/.bin/wtm'), ['run', '--no-record', hello, 'packed'], { cwd: app, encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stdout, 'hello from wasm packed\n');

  fs.writeFileSync(path.join(app, 'main.ts'), `
import { Runtime, type RunResult } from 'wtm';
const rt = new Runtime();
const r: RunResult = await rt.run({ module: ${JSON.stringify(hello)}, args: ['lib'], stdout: 'pipe' });
const task = await rt.spawn({ module: ${JSON.stringify(hello)}, args: ['task'] }).wait();
console.log(r.exitCode, Buffer.from(r.stdout!).toString().trim(), task.exitCode);
await rt.close();
`);
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: ['node'], typeRoots: [path.join(root, 'node_modules/@types')] }, files: ['main.ts'] }));
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  const ran = spawnSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' });
  assert.equal(ran.status, 0, ran.stderr);
  assert.equal(ran.stdout.trim(), '0 hello from wasm lib 0');
});
