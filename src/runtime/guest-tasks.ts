import { randomUUID } from 'node:crypto';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Errno, type Out, type TaskHost } from '../system/index.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { hostPathOf } from '../fs/hostfs.js';
import type { MountConfig } from './config.js';
import type { TaskSpec } from './tasks.js';

/** What a guest's task request becomes on its way to the starter's queue. */
export interface TaskRequest { handle: number; processId: string; spec: TaskSpec }
/** The starter's answer when a task has ended. */
export interface TaskReply { handle: number; result: string }

/** The channel between a guest's worker and its starter: replies arrive on `port`, `signal` counts them. */
export interface TaskChannel { port: MessagePort; signal: Int32Array }

const MAX_MODULE_BYTES = 256 << 20;

/**
 * The worker side of the `wtm` calls. Specs are checked here against the guest's own file
 * system: the module must be a file the guest can read, and each mount a directory the guest
 * can reach, shared with no more access than the guest has. Waiting blocks the worker
 * (Atomics.wait), never the starter's thread.
 */
export class GuestTasks implements TaskHost {
  private next = 1;
  private readonly tasks = new Map<number, { processId: string; result: string | null }>();

  constructor(
    private readonly sandbox: Sandbox,
    private readonly channel: TaskChannel,
    private readonly submit: (req: TaskRequest) => void,
    private readonly cancel: (processId: string) => void,
    private readonly parentId: string | undefined,
  ) {}

  taskSubmit(text: string): number {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return -Errno.INVAL;
    }
    const spec = this.toSpec(raw);
    if (typeof spec === 'number') return spec;
    const handle = this.next++;
    const processId = randomUUID();
    this.tasks.set(handle, { processId, result: null });
    this.submit({ handle, processId, spec });
    return handle;
  }

  taskWait(id: number, bufLen: number, out: Out<string>): number {
    const t = this.tasks.get(id);
    if (t === undefined) return Errno.BADF;
    while (t.result === null) {
      const seen = Atomics.load(this.channel.signal, 0);
      if (this.drain()) continue;
      Atomics.wait(this.channel.signal, 0, seen);
    }
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
    if (t.result === null) this.cancel(t.processId);
    return 0;
  }

  /** A result is handed over once; one too big for the buffer stays for the next call. */
  private deliver(id: number, result: string, bufLen: number, out: Out<string>): number {
    out.value = result;
    if (Buffer.byteLength(result) > bufLen) return Errno.NOBUFS;
    this.tasks.delete(id);
    return 0;
  }

  /** Takes every reply that has arrived; true if there was one. */
  private drain(): boolean {
    let got = false;
    for (;;) {
      const m = receiveMessageOnPort(this.channel.port);
      if (m === undefined) return got;
      const reply = m.message as TaskReply;
      const t = this.tasks.get(reply.handle);
      if (t) t.result = reply.result;
      got = true;
    }
  }

  /** The guest's JSON spec as a host TaskSpec, or -errno. */
  private toSpec(raw: unknown): TaskSpec | number {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return -Errno.INVAL;
    const s = raw as Record<string, unknown>;
    if (typeof s.module !== 'string') return -Errno.INVAL;
    const strings = (v: unknown) => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!strings(s.args)) return -Errno.INVAL;
    let env: string[] = [];
    if (Array.isArray(s.env)) {
      if (!strings(s.env)) return -Errno.INVAL;
      env = s.env as string[];
    } else if (typeof s.env === 'object' && s.env !== null) {
      env = Object.entries(s.env as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`);
    } else if (s.env !== undefined) {
      return -Errno.INVAL;
    }
    const num = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v > 0);
    if (!num(s.timeout_ms) || !num(s.memory_limit)) return -Errno.INVAL;
    if (s.stdin !== undefined && typeof s.stdin !== 'string') return -Errno.INVAL;
    const module = this.sandbox.readGuestFile(s.module, MAX_MODULE_BYTES);
    if (typeof module === 'number') return module;
    const mounts: MountConfig[] = [];
    if (s.mounts !== undefined) {
      if (!Array.isArray(s.mounts)) return -Errno.INVAL;
      for (const m of s.mounts as unknown[]) {
        const mount = this.toMount(m);
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
    };
  }

  /** A mount the guest asks to share: only a directory it reaches, never wider than its own access. */
  private toMount(raw: unknown): MountConfig | number {
    if (typeof raw !== 'object' || raw === null) return -Errno.INVAL;
    const m = raw as Record<string, unknown>;
    if (typeof m.guest !== 'string' || !m.guest.startsWith('/') || typeof m.path !== 'string') return -Errno.INVAL;
    if (m.guest.split('/').includes('..')) return -Errno.INVAL;
    const node = this.sandbox.guestDir(m.path);
    if (typeof node === 'number') return node;
    try {
      const base = hostPathOf(node.mount.fs);
      if (base === null) return -Errno.NOTSUP;
      if (node.mount.readonly && m.readonly === false) return -Errno.ACCES;
      const rel = node.path === node.mount.guestPath ? '' : node.path.slice(node.mount.guestPath === '/' ? 1 : node.mount.guestPath.length + 1);
      const host = rel === '' ? base : base.replace(/\/$/, '') + '/' + rel;
      return { host, guest: m.guest, readonly: node.mount.readonly || m.readonly === true };
    } finally {
      node.release();
    }
  }
}
