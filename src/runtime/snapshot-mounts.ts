import fs from 'node:fs';
import path from 'node:path';
import { materializeSnapshot, takeSnapshot } from '../registry/snapshot.js';
import type { Registry } from '../registry/registry.js';
import type { MountConfig } from './config.js';
import type { SnapshotMount, TaskSpec } from './tasks.js';
import { mkdirsSync } from '../fs/mkdirs.js';

/** A task's spec with its snapshots as mounts of this machine, and its writable layers. */
export interface ResolvedSnapshots {
  spec: TaskSpec;
  /** The writable upper directory of each writable snapshot mount (its changes), by guest path. */
  uppers: { guest: string; dir: string }[];
  /** Removes the upper directories (once their changes are stored). */
  cleanup(): void;
}

/**
 * Turns a spec's `snapshots` into mounts on this machine: each snapshot unpacked once under
 * `localDir/snapshots` (shared read-only by every task mounting it) and mounted read-only, or,
 * writable, as the lower layer of an overlay whose upper layer is a fresh directory of this
 * task (`localDir/uppers/ID/N`), as an image's root is.
 */
export async function resolveSnapshots(spec: TaskSpec, registry: Registry, localDir: string, id: string): Promise<ResolvedSnapshots> {
  const snaps = spec.snapshots ?? [];
  const { snapshots: _s, ...rest } = spec;
  const mounts: MountConfig[] = [...(spec.mounts ?? [])];
  const uppers: { guest: string; dir: string }[] = [];
  const base = path.join(localDir, 'uppers', id);
  const cleanup = () => fs.rmSync(base, { recursive: true, force: true });
  try {
    for (const [i, s] of snaps.entries()) {
      const lower = await materializeSnapshot(registry, s.snapshot, path.join(localDir, 'snapshots'));
      if (s.writable) {
        const dir = path.join(base, String(i));
        mkdirsSync(dir, 0o700);
        mounts.push({ host: dir, guest: s.guest, kind: 'image', layers: [lower] });
        uppers.push({ guest: s.guest, dir });
      } else {
        mounts.push({ host: lower, guest: s.guest, readonly: true });
      }
    }
  } catch (e) {
    cleanup();
    throw e;
  }
  return { spec: snaps.length ? { ...rest, mounts } : spec, uppers, cleanup };
}

/** The changes a task made to its writable snapshot mounts, each stored as a snapshot (a layer: deletions are `.wh.NAME` files). */
export async function storeChanges(registry: Registry, uppers: { guest: string; dir: string }[]): Promise<SnapshotMount[]> {
  const out: SnapshotMount[] = [];
  for (const u of uppers) out.push({ guest: u.guest, snapshot: `sha256:${(await takeSnapshot(registry, u.dir)).digest}` });
  return out;
}
