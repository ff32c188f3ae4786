// wtm timeline: the page is rendered in a real headless Chromium (Debian package `chromium`,
// driven by playwright-core). The guest is views in mode `tree /g/views.wasm 2`: the main
// process starts two tasks, each starts two more, so 7 processes; the main process and each
// middle one make 6 calls (args_get, 2 task_submit, 2 task_wait, fd_write), each leaf 2
// (args_get, fd_write): 26 calls. The test counts them from the logs too, and checks the page's
// own counts (data-lanes, data-marks on #timeline), that it renders without errors, that hover
// describes a call, that zoom changes the view, and that a guest's `</script>` cannot break
// the page. It saves a screenshot under test-output/ and prints its path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertOneLineError, wtmIn } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const guests = path.join(root, 'tests/guests');
const views = path.join(guests, 'views.wasm');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-timeline-'));
const { cli, record } = wtmIn(home, { timeout: 120000 });
const outDir = path.join(root, 'test-output');
const CHROMIUM = '/usr/bin/chromium';


/** Chromium and playwright-core, or why the browser tests cannot run. */
async function browser() {
  if (!fs.existsSync(CHROMIUM)) {
    if (process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
      const r = spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'], { stdio: 'ignore', timeout: 900000 });
      if (r.status !== 0 || !fs.existsSync(CHROMIUM)) return { skip: 'chromium is not installed and apt-get install chromium failed' };
    } else {
      return { skip: `${CHROMIUM} is missing (Debian: apt-get install chromium) and cannot be installed here (not root or no apt-get)` };
    }
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return { skip: 'playwright-core is not installed (npm ci installs it: a devDependency)' };
  }
  return { chromium };
}

/** Opens a page, collecting console errors and page errors. */
async function open(b, file) {
  const page = await b.newPage({ viewport: { width: 1400, height: 800 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  // Nothing may be fetched: the page is self-contained.
  const requests = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
  await page.goto(`file://${file}`);
  await page.waitForSelector('#timeline[data-ready="1"]', { timeout: 60000 });
  return { page, errors, requests };
}

const env = await browser();

test('timeline of a task tree: 7 lanes and 26 marks in the page, as in the logs; hover, zoom, screenshot', { skip: env.skip }, async () => {
  const id = record(['--max-tasks', '4', '--dir', `${guests}:/g:ro`, views, 'tree', '/g/views.wasm', '2']);
  // From the registry: the tree below id, and the calls in each log.
  const all = JSON.parse(cli(['get', 'processes', '-o', 'json']).stdout);
  const tree = [id];
  for (let i = 0; i < tree.length; i++) for (const r of all) if (r.parentId === tree[i]) tree.push(r.id);
  assert.equal(tree.length, 7, 'the guest starts 2 tasks that start 2 each');
  const calls = tree.map((p) => JSON.parse(cli(['describe', '-o', 'json', p]).stdout).log.calls);
  assert.deepEqual(calls.sort((a, b) => a - b), [2, 2, 2, 2, 6, 6, 6]);
  const total = calls.reduce((a, b) => a + b, 0);
  assert.equal(total, 26);

  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, 'timeline-tree.html');
  const r = cli(['timeline', '-o', 'json', '--out', file, id]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { out: file, lanes: 7, marks: 26 });
  const html = fs.readFileSync(file, 'utf8');
  assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=/i, 'nothing loaded from elsewhere');

  const b = await env.chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const started = Date.now();
    const { page, errors, requests } = await open(b, file);
    const loadMs = Date.now() - started;
    const ds = await page.evaluate(() => ({ ...document.getElementById('timeline').dataset }));
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, []);
    assert.equal(Number(ds.lanes), 7);
    assert.equal(Number(ds.marks), total);
    assert.ok(Number(ds.drawn) > 0 && Number(ds.drawn) <= total, ds.drawn);
    // The lanes in the page are the processes of the tree, with their own call counts.
    const lanes = await page.evaluate(() => window.wtmTimeline.lanes());
    assert.equal(lanes[0].id, id);
    assert.deepEqual(lanes.map((l) => l.id).sort(), [...tree].sort());
    assert.equal(lanes[0].offsetNs, 0);
    // Every process wrote one line; all are listed, each under its own lane.
    const panel = await page.locator('#output').textContent();
    assert.equal((panel.match(/stdout: tree 2/g) ?? []).length, 1);
    assert.equal((panel.match(/stdout: tree 1/g) ?? []).length, 2);
    assert.equal((panel.match(/stdout: tree 0/g) ?? []).length, 4);
    // Hover the main process's last call before exit (record 5, its write): the tip says what it was.
    const view = await page.locator('#view').boundingBox();
    const at = await page.evaluate(() => window.wtmTimeline.position(0, 5));
    await page.mouse.move(view.x + at.x, view.y + at.y);
    const tip = await page.locator('#tip').textContent();
    assert.match(tip, /fd_write\(fd=1, iovs=7 bytes\) = 7/);
    assert.match(tip, /record 5 · stdio/);
    assert.match(tip, /stdout: tree 2/);
    // Zoom in: half the ns per pixel; fit: back.
    const before = await page.evaluate(() => window.wtmTimeline.view());
    await page.click('#zoom-in');
    await page.waitForFunction((s) => window.wtmTimeline.view().nsPerPx < s, before.nsPerPx);
    const zoomed = await page.evaluate(() => window.wtmTimeline.view());
    assert.ok(Math.abs(zoomed.nsPerPx * 2 - before.nsPerPx) < before.nsPerPx * 1e-9);
    await page.click('#fit');
    assert.equal((await page.evaluate(() => window.wtmTimeline.view())).nsPerPx, before.nsPerPx);
    const shot = path.join(outDir, 'timeline-tree.png');
    await page.screenshot({ path: shot });
    console.log(`# timeline screenshot: ${shot} (page ready in ${ds.loadMs} ms of script, ${loadMs} ms to open)`);
    assert.deepEqual(errors, []);
  } finally {
    await b.close();
  }
});

test('timeline: a guest writing </script> cannot end the data element; default file name', { skip: env.skip }, async () => {
  const evil = '</script><script>window.pwned = 1</script><!--';
  const id = record(['--env', `WHO=${evil}`, views, 'env']);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-timeline-out-'));
  const r = cli(['timeline', id], { cwd });
  assert.equal(r.status, 0, r.stderr);
  const file = path.join(cwd, `${id}.timeline.html`);
  assert.equal(r.stdout, `wrote ${id}.timeline.html (1 lane, 3 calls, ${(fs.statSync(file).size / 1024).toFixed(1)} KiB)\n`);
  const html = fs.readFileSync(file, 'utf8');
  assert.equal(html.split('</script').length - 1, 2, 'only the two script elements end');
  assert.doesNotMatch(html, /alice|WHO=<|WHO=\\u003c/, 'no environment value');
  const b = await env.chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const { page, errors } = await open(b, file);
    assert.deepEqual(errors, []);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    const ds = await page.evaluate(() => ({ ...document.getElementById('timeline').dataset }));
    assert.deepEqual([ds.lanes, ds.marks], ['1', '3']);
    assert.ok((await page.locator('#output').textContent()).includes(`who=${evil}`));
  } finally {
    await b.close();
  }
});

// Results given by fault injection are marked in the log (bit 0x80 of the call id): the page
// frames their marks in red, names them on hover and counts them in the legend, the same
// records `trace` marks [injected].
test('timeline of a chaos run: the injected results are the ones trace marks, framed, named and counted', { skip: env.skip }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-timeline-chaos-'));
  const id = record(['--chaos', '11:0.3', '--dir', `${work}:/data`, path.join(guests, 'chaos_io.wasm'), 'careful', '/data/out', '30']);
  const traced = cli(['trace', '-o', 'json', id]).stdout.trim().split('\n').map((l) => JSON.parse(l));
  const want = traced.filter((j) => j.injected === true).map((j) => j.index);
  assert.ok(want.length > 5, `${want.length} injected`);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-timeline-chaos-out-')), 'chaos.html');
  assert.equal(cli(['timeline', '--out', file, id]).status, 0);
  const b = await env.chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const { page, errors } = await open(b, file);
    assert.deepEqual(errors, []);
    const ds = await page.evaluate(() => ({ ...document.getElementById('timeline').dataset }));
    assert.equal(Number(ds.injected), want.length);
    const [lane] = await page.evaluate(() => window.wtmTimeline.lanes());
    assert.deepEqual(lane.injected, want);
    // Hover text: an injected call says so, and shows the call's own name (the bit is not part of it).
    const said = await page.evaluate((i) => window.wtmTimeline.describe(0, i), want[0]);
    assert.match(said, /\[injected\] this result was given by fault injection/);
    assert.ok(said.startsWith(traced[want[0]].call + '('), said);
    const plain = traced.findIndex((j) => !j.injected && j.call === 'fd_write');
    assert.doesNotMatch(await page.evaluate((i) => window.wtmTimeline.describe(0, i), plain), /injected/);
    assert.match(await page.locator('#legend').textContent(), new RegExp(`injected \\(--chaos\\) ${want.length}`));
  } finally {
    await b.close();
  }
});

test('timeline: bad input is one line', () => {
  assertOneLineError(cli(['timeline']), 2, /^wtm timeline: needs one process ID/);
  assertOneLineError(cli(['timeline', '-o', 'yaml', 'x']), 2, /^wtm timeline: -o yaml: expected text or json/);
  assertOneLineError(cli(['timeline', '00000000-0000-4000-8000-000000000000']), 1, /^wtm timeline: /);
  const id = record([views, 'exit', '0']);
  fs.rmSync(path.join(home, 'blobs', 'logs', id));
  assertOneLineError(cli(['timeline', id]), 1, new RegExp(`^wtm timeline: process ${id} has no log$`));
  assertOneLineError(cli(['timeline', '--out', '/nonexistent-dir/x.html', record([views, 'exit', '0'])]), 1, /^wtm timeline: cannot write \/nonexistent-dir\/x.html: ENOENT$/);
});
