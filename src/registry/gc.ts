import fs from 'node:fs';
import path from 'node:path';
import { DIGEST_RE } from './digest.js';
import { LocalStore, sweepLeftovers, treeBytes } from './local.js';
import { UUID_V4_RE } from './process.js';
import type { Registry } from './registry.js';
import type { ObjectStore } from './store.js';

/*
 * Garbage collection of a local registry: what no record names any more.
 *
 *   modules   blobs modules/sha256/HEX that no process record names (moduleDigest)
 *   configs   records config/HEX that no process record names (configDigest)
 *   logs      blobs logs/ID with no process record ID
 *   tails     blobs tails/ID with no process record ID
 *   oci       blobs oci/sha256/HEX that no image record names (manifest, config, layers)
 *   layers    directories DIR/layers/HEX that no image record names
 *   tasks     directories DIR/tasks/ID with no process record ID
 *   temp      leftovers of dead writers (LocalStore.cleanTemp)
 *
 * A writer stores an object before the record that names it (a module before its process, an
 * image's blobs and layers before the image, a task's directory before its record): objects
 * modified less than `graceMs` ago are spared, so a `wtm run` or `image import` in progress
 * loses nothing. Task directories are spared for at least a minute whatever the grace.
 * Candidates are listed first and records read last, so a record written before gc reads the
 * records keeps what it names; records that appear while gc decides are read once more before
 * anything is removed.
 */
export type GcKind = 'modules' | 'configs' | 'logs' | 'tails' | 'oci' | 'layers' | 'tasks' | 'temp';
export const GC_KINDS: readonly GcKind[] = ['modules', 'configs', 'logs', 'tails', 'oci', 'layers', 'tasks', 'temp'];

export interface GcOptions {
  /** Spare objects modified less than this many ms ago (default 10 minutes). */
  graceMs?: number;
  /** Only report what would be removed. */
  dryRun?: boolean;
  now?: number;
}

export interface GcReport {
  dryRun: boolean;
  graceMs: number;
  /** Per kind: how many objects and bytes were (or would be) removed. */
  freed: Record<GcKind, { count: number; bytes: number }>;
  total: { count: number; bytes: number };
  /** Unreferenced objects kept because they are younger than the grace period. */
  spared: number;
  /** What was (or would be) removed: kind, name (a key, or a path under the registry), bytes. */
  items: { kind: GcKind; name: string; bytes: number }[];
  /** Kinds left alone and why (an unreadable record could name anything). */
  warnings: string[];
}

export const DEFAULT_GRACE_MS = 10 * 60_000;
const TASK_DIR_MIN_AGE_MS = 60_000;

const MODULES = 'modules/sha256/';
const OCI = 'oci/sha256/';

interface Candidate {
  kind: GcKind;
  /** Store key (blob or record), or directory name. */
  key: string;
  /** Its path relative to the registry directory, as reported. */
  name: string;
  /** What it is referenced by: a digest hex or a process id. */
  ref: string;
  bytes: number;
  remove: () => Promise<unknown> | unknown;
}

/** Size and modification time of a store's objects (LocalStore's are synchronous). */
interface AgeOf {
  statBlob(key: string): { bytes: number; mtimeMs: number } | null | Promise<{ bytes: number; mtimeMs: number } | null>;
  statRecord(kind: string, key: string): { bytes: number; mtimeMs: number } | null | Promise<{ bytes: number; mtimeMs: number } | null>;
}

/** What the records name. */
interface Refs {
  processIds: Set<string>;
  modules: Set<string>;
  configs: Set<string>;
  /** sha256 hex of every blob an image names (manifest, config, layers). */
  imageBlobs: Set<string>;
  /** false when a record could not be read: what it names is unknown. */
  processesSure: boolean;
  imagesSure: boolean;
}

/** Removes (or with dryRun lists) what no record of the registry names; see the comment above. */
export async function collectGarbage(registry: Registry, opts: GcOptions = {}): Promise<GcReport> {
  // A local directory, or a remote store with a local directory of its own (tasks, layers:
  // this machine's) that can say when its objects were written (NatsStore).
  const store = registry.store as ObjectStore & Partial<AgeOf>;
  const root = store instanceof LocalStore ? store.root : store.localDir;
  if (root === undefined || typeof store.statBlob !== 'function' || typeof store.statRecord !== 'function') {
    throw new Error('gc needs a registry whose objects have an age (a directory, or nats://)');
  }
  const ages = store as ObjectStore & AgeOf;
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  if (!(Number.isFinite(graceMs) && graceMs >= 0)) throw new Error(`gc: bad grace period ${graceMs}`);
  const now = opts.now ?? Date.now();
  const dryRun = opts.dryRun ?? false;
  let spared = 0;
  const young = (mtimeMs: number, min = 0): boolean => {
    if (now - mtimeMs < Math.max(graceMs, min)) {
      spared++;
      return true;
    }
    return false;
  };

  // 1. Candidates: everything that could be garbage, with its size and age.
  const all: Candidate[] = [];
  const blobs = async (kind: GcKind, prefix: string, refOf: (rest: string) => string | null) => {
    for (const key of await store.listBlobs(prefix)) {
      const ref = refOf(key.slice(prefix.length));
      if (ref === null) continue; // a foreign key: not ours to judge
      const st = await ages.statBlob(key);
      if (st) all.push({ kind, key, name: `blobs/${key}`, ref, bytes: st.bytes, remove: () => store.deleteBlob(key) });
    }
  };
  const isDigest = (s: string) => (DIGEST_RE.test(s) ? s : null);
  const isId = (s: string) => (UUID_V4_RE.test(s) ? s : null);
  await blobs('modules', MODULES, isDigest);
  await blobs('logs', 'logs/', isId);
  await blobs('tails', 'tails/', isId);
  await blobs('oci', OCI, isDigest);
  for (const key of await store.listRecords('config')) {
    if (!DIGEST_RE.test(key)) continue;
    const st = await ages.statRecord('config', key);
    if (st) all.push({ kind: 'configs', key, name: `records/config/${key}.json`, ref: key, bytes: st.bytes, remove: () => store.deleteRecord('config', key) });
  }
  const dirs = (kind: GcKind, sub: string, refOf: (name: string) => string | null) => {
    const base = path.join(root, sub);
    let names: string[] = [];
    try {
      names = fs.readdirSync(base);
    } catch {
      return;
    }
    for (const name of names) {
      const ref = refOf(name);
      if (ref === null) continue;
      const p = path.join(base, name);
      all.push({ kind, key: `${sub}/${name}`, name: `${sub}/${name}`, ref, bytes: -1, remove: () => fs.rmSync(p, { recursive: true, force: true }) });
    }
  };
  dirs('layers', 'layers', isDigest);
  dirs('tasks', 'tasks', isId);

  // 2. The records, read after the listing: what they name stays.
  const refs = await readRefs(registry);
  const warnings: string[] = [];
  if (!refs.processesSure) warnings.push('a process record could not be read: modules and configs were left alone');
  if (!refs.imagesSure) warnings.push('an image record could not be read: oci blobs and layers were left alone');
  const referenced = (c: Candidate, r: Refs): boolean | null => {
    switch (c.kind) {
      case 'modules': return r.processesSure ? r.modules.has(c.ref) : null;
      case 'configs': return r.processesSure ? r.configs.has(c.ref) : null;
      case 'logs': case 'tails': case 'tasks': return r.processIds.has(c.ref);
      case 'oci': case 'layers': return r.imagesSure ? r.imageBlobs.has(c.ref) : null;
      case 'temp': return false;
    }
  };
  let garbage = all.filter((c) => referenced(c, refs) === false);

  // 3. Age: the young are spared (a writer may be about to write the record naming them).
  const old: Candidate[] = [];
  for (const c of garbage) {
    const p = c.kind === 'layers' || c.kind === 'tasks' ? path.join(root, c.key) : null;
    const st = p ? fs.lstatSync(p, { throwIfNoEntry: false }) : null;
    const mtimeMs = p ? st?.mtimeMs : (await (c.kind === 'configs' ? ages.statRecord('config', c.key) : ages.statBlob(c.key)))?.mtimeMs;
    if (mtimeMs === undefined) continue; // gone meanwhile
    if (young(mtimeMs, c.kind === 'tasks' ? TASK_DIR_MIN_AGE_MS : 0)) continue;
    if (p) c.bytes = treeBytes(p);
    old.push(c);
  }
  garbage = old;

  // 4. Records written while gc was deciding keep what they name too (a process record's
  // module and config never change: only new records are read).
  const again = await readRefs(registry, refs);
  garbage = garbage.filter((c) => referenced(c, again) === false);

  // 5. Remove, then the leftovers of dead writers.
  const items: GcReport['items'] = [];
  for (const c of garbage) {
    if (!dryRun) await c.remove();
    items.push({ kind: c.kind, name: c.name, bytes: c.bytes });
  }
  for (const l of await sweepLeftovers(root, { dryRun, now })) {
    items.push({ kind: 'temp', name: path.relative(root, l.path), bytes: l.bytes });
  }

  const freed = Object.fromEntries(GC_KINDS.map((k) => [k, { count: 0, bytes: 0 }])) as GcReport['freed'];
  const total = { count: 0, bytes: 0 };
  for (const it of items) {
    freed[it.kind].count++;
    freed[it.kind].bytes += it.bytes;
    total.count++;
    total.bytes += it.bytes;
  }
  return { dryRun, graceMs, freed, total, spared, items, warnings };
}

/** What the records name; with `known`, process records it has read already are not read again. */
async function readRefs(registry: Registry, known?: Refs): Promise<Refs> {
  const store = registry.store;
  const refs: Refs = {
    processIds: new Set(known?.processIds), modules: new Set(known?.modules), configs: new Set(known?.configs),
    imageBlobs: new Set(), processesSure: known?.processesSure ?? true, imagesSure: true,
  };
  for (const id of await store.listRecords('process')) {
    if (known?.processIds.has(id)) continue;
    refs.processIds.add(id);
    let rec: unknown;
    try {
      rec = await store.getRecord('process', id);
    } catch {
      refs.processesSure = false;
      continue;
    }
    if (rec === null) continue; // removed since the listing
    const r = rec as { moduleDigest?: unknown; configDigest?: unknown };
    if (typeof r.moduleDigest !== 'string' || typeof r.configDigest !== 'string') {
      refs.processesSure = false;
      continue;
    }
    refs.modules.add(r.moduleDigest);
    refs.configs.add(r.configDigest);
  }
  for (const key of await store.listRecords('image')) {
    let rec: unknown;
    try {
      rec = await store.getRecord('image', key);
    } catch {
      refs.imagesSure = false;
      continue;
    }
    if (rec === null) continue;
    const digests = imageBlobDigests(rec);
    if (digests === null) refs.imagesSure = false;
    else for (const d of digests) refs.imageBlobs.add(d);
  }
  return refs;
}

/**
 * The sha256 hex digests of the blobs an image record (oci/images.ts ImageRecord) names: its
 * manifest, its config and its layers (unpacked layers are named by the same hex). null when
 * the record is not one.
 */
export function imageBlobDigests(rec: unknown): string[] | null {
  const r = rec as { manifestDigest?: unknown; configDigest?: unknown; layers?: unknown } | null;
  if (typeof r !== 'object' || r === null || !Array.isArray(r.layers)) return null;
  const out: string[] = [];
  for (const d of [r.manifestDigest, r.configDigest, ...r.layers.map((l: { digest?: unknown } | null) => l?.digest)]) {
    if (typeof d !== 'string' || !d.startsWith('sha256:') || !DIGEST_RE.test(d.slice(7))) return null;
    out.push(d.slice(7));
  }
  return out;
}
