import { randomUUID } from 'node:crypto';
import { sha256Hex } from '../registry/digest.js';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Errno, type Out, type TaskHost } from '../system/index.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { closeDirHandle, hostPathOf, shareDir, type DirHandle } from '../fs/hostfs.js';
import type { MountConfig } from './config.js';
import { TASK_LIMITS, isWholeIn, type TaskSpec } from './tasks.js';

/**
 * What a guest's task request becomes on its way to the starter's queue. The handles in its
 * spec's mounts belong to the task from now on: the starter closes them when it settles.
 */
export interface TaskRequest {
  handle: number;
  processId: string;
  spec: TaskSpec;
  /** Set by the starter when a handle of the spec could not be claimed (the sender was stopped): never run. */
  lost?: boolean;
  /** How many handles were dropped from the spec for that reason. */
  lostHandles?: number;
}
/** The starter's answer when a task has ended. */
export interface TaskReply { handle: number; result: string }

/**
 * A task tree as every worker of the tree sees it: `counter` is [tasks alive below the tree's
 * main process (queued, running, or ended with a result its parent has not collected yet, as
 * a zombie counts against RLIMIT_NPROC), limit flags, directory handles its queued and running
 * tasks hold], shared by all the tree's workers and its starter; `depth` is this process's
 * depth (the main process is 0).
 */
export interface TreeShare { counter: SharedArrayBuffer; depth: number; maxTasks: number; maxDepth: number; maxHandles: number }

/** Slots of the tree counter. */
export const TREE_ALIVE = 0;
export const TREE_FLAGS = 1;
export const TREE_HANDLES = 2;

/** Slots of a process's task channel signal: replies posted (wakes task_wait), results collected. */
export const CHANNEL_REPLIES = 0;
export const CHANNEL_COLLECTED = 1;

/** Largest spec a guest may submit (the JSON text): it is kept while the task is queued. */
export const MAX_SPEC_CHARS = 1 << 20;
/** Most directories one task spec may share: each is an open handle while the task is alive. */
export const MAX_SPEC_MOUNTS = 64;

/** Bits of the tree counter's flag word: a limit was met (reported once per tree). */
export const LIMIT_BITS = { tasks: 1, depth: 2, handles: 4 } as const;

/** The channel between a guest's worker and its starter: replies arrive on `port`, `signal` counts them. */
export interface TaskChannel { port: MessagePort; signal: Int32Array; tree?: TreeShare }

/** What the worker side sends its starter. */
export type TaskMessage = { task: TaskRequest } | { taskCancel: string } | { taskBlocked: TaskBlocked | null } | { taskLimit: TreeLimit };

/** The limits of a tree a submit can meet. */
export type TreeLimit = 'tasks' | 'depth' | 'handles';

/**
 * The guest is about to block in task_wait for the task `awaited`, having received `received`
 * replies so far: the starter believes it only if it has sent no reply since (a reply in
 * flight wakes the guest at once).
 */
export interface TaskBlocked { awaited: string; received: number }

const MAX_MODULE_BYTES = 256 << 20;

/** The fields of a guest's task spec (docs/tasks.md) and of each of its mounts. */
const SPEC_FIELDS = new Set(['module', 'args', 'env', 'stdin', 'mounts', 'timeout_ms', 'memory_limit']);
const MOUNT_FIELDS = new Set(['guest', 'path', 'readonly']);

/** A mount object with known fields only, its paths strings, `readonly` true or false if given. */
function wellFormedMount(raw: unknown): boolean {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  const m = raw as Record<string, unknown>;
  return Object.keys(m).every((k) => MOUNT_FIELDS.has(k)) && typeof m.guest === 'string' && typeof m.path === 'string' &&
    (m.readonly === undefined || typeof m.readonly === 'boolean');
}

/**
 * The chaos seed of the n-th task a guest with chaos `seed` starts: 52 bits of
 * sha256("SEED:task:N"), so a run with the same seed gives its tasks the same seeds, and tasks
 * of one guest get different ones.
 */
export function taskChaosSeed(seed: number, n: number): number {
  return parseInt(sha256Hex(`${seed}:task:${n}`).slice(0, 13), 16);
}

/**
 * The worker side of the `wtm` calls. Specs are checked here against the guest's own file
 * system: the module must be a file the guest can read, and each mount a directory the guest
 * can reach, shared with no more access than the guest has. Waiting blocks the worker
 * (Atomics.wait), never the starter's thread.
 */
export class GuestTasks implements TaskHost {
  private next = 1;
  private readonly tasks = new Map<number, { processId: string; result: string | null }>();
  private readonly counter: Int32Array | null;
  /** Replies taken from the port so far. */
  private received = 0;
  /** Tasks given a chaos seed so far (the seed of the n-th is drawn from n). */
  private chaosTasks = 0;

  constructor(
    private readonly sandbox: Sandbox,
    private readonly channel: TaskChannel,
    private readonly send: (msg: TaskMessage) => void,
    private readonly parentId: string | undefined,
    /** This guest's fault injection: each task it starts gets a seed of its own from it. */
    private readonly chaos?: { seed: number; rate?: number },
  ) {
    this.counter = channel.tree ? new Int32Array(channel.tree.counter) : null;
  }

  taskSubmit(text: string): number {
    // Queued specs live in the starter's memory: a bounded size, like ARG_MAX.
    if (text.length > MAX_SPEC_CHARS) return -Errno.TOOBIG;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return -Errno.INVAL;
    }
    // The tree's bounds, checked here at once (no round trip to the starter): PERM past the
    // depth limit, AGAIN while the tree has its maximum of tasks alive. The starter gives the
    // place back when the task settles.
    const tree = this.channel.tree;
    if (tree && this.counter) {
      if (tree.depth + 1 > tree.maxDepth) return this.refuse('depth', Errno.PERM);
      if (Atomics.add(this.counter, TREE_ALIVE, 1) >= tree.maxTasks) {
        Atomics.sub(this.counter, TREE_ALIVE, 1);
        return this.refuse('tasks', Errno.AGAIN);
      }
    }
    const handles: DirHandle[] = [];
    let spec = this.toSpec(raw, handles);
    // Shared directories are open handles until the task settles: the tree holds a bounded number.
    if (typeof spec !== 'number' && tree && this.counter && handles.length > 0 &&
        Atomics.add(this.counter, TREE_HANDLES, handles.length) + handles.length > tree.maxHandles) {
      Atomics.sub(this.counter, TREE_HANDLES, handles.length);
      spec = this.refuse('handles', Errno.AGAIN);
    }
    if (typeof spec === 'number') {
      handles.forEach(closeDirHandle);
      if (this.counter) Atomics.sub(this.counter, TREE_ALIVE, 1);
      return spec;
    }
    // The handles stay in this worker's fd ledger until the starter claims them (fdledger.ts).
    const handle = this.next++;
    const processId = randomUUID();
    this.tasks.set(handle, { processId, result: null });
    this.send({ task: { handle, processId, spec } });
    return handle;
  }

  /** -errno for a submit refused by the tree's `kind` limit; the starter hears of the first one. */
  private refuse(kind: TreeLimit, errno: number): number {
    const bit = LIMIT_BITS[kind];
    if ((Atomics.or(this.counter!, TREE_FLAGS, bit) & bit) === 0) this.send({ taskLimit: kind });
    return -errno;
  }

  taskWait(id: number, bufLen: number, out: Out<string>): number {
    const t = this.tasks.get(id);
    if (t === undefined) return Errno.BADF;
    let blocked = false;
    while (t.result === null) {
      const seen = Atomics.load(this.channel.signal, CHANNEL_REPLIES);
      if (this.drain()) continue;
      // The starter learns that this process holds its slot without running (deadlocks).
      this.send({ taskBlocked: { awaited: t.processId, received: this.received } });
      blocked = true;
      Atomics.wait(this.channel.signal, CHANNEL_REPLIES, seen);
    }
    if (blocked) this.send({ taskBlocked: null });
    return this.deliver(id, t.result, bufLen, out);
  }

  taskPoll(bufLen: number, out: Out<string>): number {
    this.drain();
    if (this.tasks.size === 0) return Errno.CHILD;
    for (const [id, t] of this.tasks) if (t.result !== null) return this.deliver(id, t.result, bufLen, out);
    return Errno.AGAIN;
  }

  taskCancel(id: number): number {
    const t = this.tasks.get(id);
    if (t === undefined) return Errno.BADF;
    if (t.result === null) this.send({ taskCancel: t.processId });
    return 0;
  }

  /**
   * A result is handed over once; one too big for the buffer stays for the next call. Once
   * collected, the task no longer counts as alive in its tree (the starter reads the count of
   * collected results when this process ends, and frees the places of the others).
   */
  private deliver(id: number, result: string, bufLen: number, out: Out<string>): number {
    out.value = result;
    if (Buffer.byteLength(result) > bufLen) return Errno.NOBUFS;
    this.tasks.delete(id);
    if (this.counter) Atomics.sub(this.counter, TREE_ALIVE, 1);
    Atomics.add(this.channel.signal, CHANNEL_COLLECTED, 1);
    return 0;
  }

  /** Takes every reply that has arrived; true if there was one. */
  private drain(): boolean {
    let got = false;
    for (;;) {
      const m = receiveMessageOnPort(this.channel.port);
      if (m === undefined) return got;
      const reply = m.message as TaskReply;
      this.received++;
      const t = this.tasks.get(reply.handle);
      if (t) t.result = reply.result;
      got = true;
    }
  }

  /**
   * The guest's JSON spec as a host TaskSpec, or -errno: INVAL for an unknown field, a value
   * of the wrong type, or a number out of its range (TASK_LIMITS: `timeout_ms` a whole number
   * of ms from 0, no limit, to 2^31-1; `memory_limit` whole bytes from one wasm page to 4 GiB).
   */
  private toSpec(raw: unknown, handles: DirHandle[]): TaskSpec | number {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return -Errno.INVAL;
    const s = raw as Record<string, unknown>;
    // An unknown field is a mistake (`timeoutMs` for `timeout_ms` would mean no limit at all).
    if (Object.keys(s).some((k) => !SPEC_FIELDS.has(k))) return -Errno.INVAL;
    if (typeof s.module !== 'string') return -Errno.INVAL;
    const strings = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!strings(s.args)) return -Errno.INVAL;
    // argv[0] and the args are recorded with the task: at most 65536 in all (as the record's limit).
    if (Array.isArray(s.args) && s.args.length > TASK_LIMITS.maxArgs) return -Errno.TOOBIG;
    let env: string[] = [];
    if (Array.isArray(s.env)) {
      if (!strings(s.env)) return -Errno.INVAL;
      env = s.env as string[];
    } else if (typeof s.env === 'object' && s.env !== null) {
      const entries = Object.entries(s.env as Record<string, unknown>);
      if (entries.some(([, v]) => typeof v !== 'string')) return -Errno.INVAL;
      env = entries.map(([k, v]) => `${k}=${v as string}`);
    } else if (s.env !== undefined) {
      return -Errno.INVAL;
    }
    if (env.length > TASK_LIMITS.maxEnv) return -Errno.TOOBIG;
    if (s.timeout_ms !== undefined && !isWholeIn(s.timeout_ms, 0, TASK_LIMITS.maxTimeoutMs)) return -Errno.INVAL;
    if (s.memory_limit !== undefined && !isWholeIn(s.memory_limit, TASK_LIMITS.minMemoryLimitBytes, TASK_LIMITS.maxMemoryLimitBytes)) return -Errno.INVAL;
    if (s.stdin !== undefined && typeof s.stdin !== 'string') return -Errno.INVAL;
    // Every mount's fields are checked before the module or any directory is looked up.
    if (s.mounts !== undefined && (!Array.isArray(s.mounts) || !s.mounts.every(wellFormedMount))) return -Errno.INVAL;
    // A relative module path lands where the guest's own relative paths do: in its `.`
    // preopen (a trusted main process's current directory); without one it is INVAL. Joined,
    // not normalized: the resolver takes each `..` after what it followed, as for any path.
    const cwd = this.sandbox.cwd;
    const modulePath = s.module.startsWith('/') || cwd === undefined ? s.module : `${cwd === '/' ? '' : cwd}/${s.module}`;
    const module = this.sandbox.readGuestFile(modulePath, MAX_MODULE_BYTES);
    if (typeof module === 'number') return module;
    const mounts: MountConfig[] = [];
    if (s.mounts !== undefined) {
      if (!Array.isArray(s.mounts)) return -Errno.INVAL;
      if (s.mounts.length > MAX_SPEC_MOUNTS) return -Errno.TOOBIG;
      for (const m of s.mounts as unknown[]) {
        const mount = this.toMount(m, handles);
        if (typeof mount === 'number') return mount;
        mounts.push(mount);
      }
    }
    return {
      module, argv0: s.module, args: (s.args as string[] | undefined) ?? [], env, mounts,
      ...(s.stdin !== undefined ? { stdin: s.stdin as string } : {}),
      ...(s.timeout_ms !== undefined ? { timeoutMs: s.timeout_ms as number } : {}),
      ...(s.memory_limit !== undefined ? { memoryLimitBytes: s.memory_limit as number } : {}),
      ...(this.parentId ? { parentId: this.parentId } : {}),
      ...(this.chaos ? { chaos: { seed: taskChaosSeed(this.chaos.seed, ++this.chaosTasks), ...(this.chaos.rate !== undefined ? { rate: this.chaos.rate } : {}) } } : {}),
    };
  }

  /**
   * A mount the guest asks to share: only a directory it reaches, never wider than its own
   * access. What the task gets is a new handle on the very directory that was checked (never
   * its host path, which the guest could swap for a link right after this call); it is added
   * to `handles`.
   */
  private toMount(raw: unknown, handles: DirHandle[]): MountConfig | number {
    if (!wellFormedMount(raw)) return -Errno.INVAL;
    const m = raw as Record<string, unknown>;
    if (typeof m.guest !== 'string' || !m.guest.startsWith('/') || typeof m.path !== 'string') return -Errno.INVAL;
    if (m.guest.split('/').includes('..')) return -Errno.INVAL;
    const node = this.sandbox.guestDir(m.path);
    if (typeof node === 'number') return node;
    try {
      if (node.mount.readonly && m.readonly === false) return -Errno.ACCES;
      const shared = shareDir(node.dir);
      if (typeof shared === 'number') return shared;
      // The host path only describes the handle (records, messages); it is never opened.
      const base = hostPathOf(node.mount.fs) ?? shared.path;
      const rel = node.path === node.mount.guestPath ? '' : node.path.slice(node.mount.guestPath === '/' ? 1 : node.mount.guestPath.length + 1);
      const handle: DirHandle = { fd: shared.fd, path: rel === '' ? base : base.replace(/\/$/, '') + '/' + rel };
      handles.push(handle);
      return { host: handle.path, handle, guest: m.guest, readonly: node.mount.readonly || m.readonly === true };
    } finally {
      node.release();
    }
  }
}
