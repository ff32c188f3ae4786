// Pull from a real OCI registry: an image built with umoci, pushed with skopeo to a
// docker-registry started here on 127.0.0.1, pulled by wtm. .ci/run installs the three Debian
// packages; without them this file says what is missing and skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wtm = path.join(root, 'bin/wtm.js');
const tools = ['umoci', 'skopeo', 'docker-registry'];
const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const skip = missing.length ? `needs ${missing.join(', ')} (apt-get install umoci skopeo docker-registry)` : false;
const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), `wtm-${prefix}-`));
const sh = (cmd, args, cwd) => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRegistry() {
  const dir = tmp('registry');
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const proc = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) return { port, stop: () => proc.kill() };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error('docker-registry did not start');
}

/** An image made with umoci: hello.wasm as the entry point and a data file. */
function buildImage(dir) {
  sh('umoci', ['init', '--layout', 'img'], dir);
  sh('umoci', ['new', '--image', 'img:v1'], dir);
  sh('umoci', ['unpack', '--image', 'img:v1', 'bundle'], dir);
  fs.mkdirSync(path.join(dir, 'bundle/rootfs/app'), { recursive: true });
  fs.copyFileSync(path.join(root, 'examples/hello.wasm'), path.join(dir, 'bundle/rootfs/app/hello.wasm'));
  fs.writeFileSync(path.join(dir, 'bundle/rootfs/app/data.txt'), 'from the image\n');
  sh('umoci', ['repack', '--image', 'img:v1', 'bundle'], dir);
  sh('umoci', ['config', '--image', 'img:v1', '--config.entrypoint', '/app/hello.wasm', '--os', 'wasip1', '--architecture', 'wasm'], dir);
}

test('an image built with umoci, pushed with skopeo to docker-registry, is pulled and listed', { skip }, async () => {
  const dir = tmp('umoci');
  buildImage(dir);
  const reg = await startRegistry();
  try {
    sh('skopeo', ['copy', '--dest-tls-verify=false', 'oci:img:v1', `docker://127.0.0.1:${reg.port}/hello:1`], dir);
    const home = tmp('home');
    const env = { ...process.env, WTM_HOME: home };
    const r = spawnSync(process.execPath, [wtm, 'image', 'pull', '--insecure', `127.0.0.1:${reg.port}/hello:1`], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^127\\.0\\.0\\.1:${reg.port}/hello:1 sha256:[0-9a-f]{64}`));
    const list = JSON.parse(spawnSync(process.execPath, [wtm, 'image', 'ls', '-o', 'json'], { encoding: 'utf8', env }).stdout);
    assert.equal(list.length, 1);
    assert.deepEqual(list[0].config.config.Entrypoint, ['/app/hello.wasm']);
    const layer = path.join(home, 'layers', list[0].layers[0].digest.slice(7));
    assert.equal(fs.readFileSync(path.join(layer, 'app/data.txt'), 'utf8'), 'from the image\n');
    // The pulled image runs: its entry point inside its own tree, a file of the image readable.
    const run = spawnSync(process.execPath, [wtm, 'run', `127.0.0.1:${reg.port}/hello:1`, 'pulled'], { encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'hello from wasm pulled\n');
    // Plain HTTP is refused without --insecure, and --insecure is refused off loopback.
    const noFlag = spawnSync(process.execPath, [wtm, 'image', 'pull', `127.0.0.1:${reg.port}/hello:1`], { encoding: 'utf8', env });
    assert.equal(noFlag.status, 1);
    const offLoopback = spawnSync(process.execPath, [wtm, 'image', 'pull', '--insecure', 'example.com/x:1'], { encoding: 'utf8', env });
    assert.match(offLoopback.stderr, /only allowed for a registry on loopback/);
  } finally {
    reg.stop();
  }
});
