import { parseChaos, type ChaosOptions } from '../system/chaos.js';
import { randomUUID } from 'node:crypto';
import { applyRunSettings } from './settings.js';
import fs from 'node:fs';
import path from 'node:path';
import { interruptRecordingsNow } from '../runtime/recording.js';
import { closeMountHandles, DEFAULT_ISOLATION, DEFAULT_MAX_TASK_DEPTH, DEFAULT_MAX_TASKS_PER_TREE, Runtime, UserError, type MountConfig, type TraceOptions, type TreeEvent } from '../runtime/index.js';
import { durationFlag, parseFlags, UsageError, type Parsed } from './args.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';
import { layersDir } from './image.js';
import { NatsTaskQueue } from '../runtime/nats-queue.js';
import { queueFlag, sharedRegistryFor } from './worker.js';
import { prepareImageRun, type ImageRun } from '../oci/index.js';
import type { Registry } from '../registry/registry.js';

export const runHelp = `Usage: wtm run [flags] MODULE|IMAGE [--] [ARGS...]

Runs a WASI (wasm32-wasip1) command module in a sandbox. Everything after MODULE goes to the
guest; argv[0] is MODULE as given. wtm's own messages go to stderr; stdout is the guest's.

IMAGE is an image of the registry (wtm image import/pull): its layers are the read-only root,
a fresh directory of this process the writable layer above them; its Entrypoint/Cmd names the
.wasm to run, its Env and WorkingDir apply, and --env/--dir still apply on top. An image never
sees the host.

Every run is recorded into the registry: the process id is printed to stderr first
('wtm: process ID'); 'wtm replay ID' runs it again from its log alone. Task processes get
their directories in the registry's tasks/ (with --no-record, a temporary directory removed
when wtm ends). When the main process ends, tasks it left queued or running are cancelled.

By default the process is trusted: it sees the host's / and environment, and relative paths
resolve against the current directory (see docs/sandbox.md for how wasi-libc maps them).
The environment is recorded with the run, in your private registry; 'wtm export' leaves out
the values of the variables inherited from the host unless given --with-host-env.

Flags:
  --dir HOST:GUEST[:ro]   mount the host directory HOST at GUEST in the guest's tree
                          (repeatable; :ro makes it read-only). --dir HOST:/ replaces the
                          host's root. HOST may be a .tar or .tar.gz archive: it is mounted
                          read-only, in memory, never unpacked to disk.
  --env NAME=VALUE        set an environment variable (repeatable); --env NAME passes the
                          host's value of NAME (also with --no-host)
  --no-host               untrusted: see only --dir mounts and --env variables
  --argv0 NAME            the guest's argv[0] (default: MODULE as given)
  --invoke FUNC           call the exported function FUNC with ARGS (numbers, by its parameter
                          types) instead of _start, after _initialize if the module has one
                          (a reactor), and print its results, one a line (as wasmtime)
  --max-tasks N           run at most N task processes at once (tasks the guest starts
                          through the wtm import module; default: the number of cores)
  --max-tasks-per-tree N  at most N tasks alive below the main process and its tasks
                          (queued, running, or with a result not yet collected; default
                          ${DEFAULT_MAX_TASKS_PER_TREE}); past it task_submit answers AGAIN
  --isolation thread|process  how tasks are walled off from each other: each in a worker
                          thread of wtm (thread), or in a worker thread of a child process
                          of a pool (process): a V8 fault or out-of-memory abort of one task
                          then kills only its child, and it is recorded as crashed with the
                          signal while the others run on (default ${DEFAULT_ISOLATION}; see
                          docs/RATIONALE.md). With process, a task's own task calls answer NOSYS
  --max-task-depth N      tasks may start tasks N levels deep (default ${DEFAULT_MAX_TASK_DEPTH}; the main
                          process is level 0); deeper, task_submit answers PERM
  --timeout DURATION      stop the guest after DURATION (e.g. 30s, 500ms, 2m, 1h; a bare
                          number is seconds): exit status 124, recorded as killed
  --max-memory SIZE       the guest's linear memory may grow to SIZE at most (e.g. 512M,
                          2G; 64K to 4G); past it memory.grow fails in the guest
  --max-fds N             open files (and directories) the guest may hold at once, each
                          task too (default 1024, as Linux's ulimit -n); past it, MFILE
                          (--max-open-files is the same)
  --no-record             do not record the run (nor its tasks)
  --chaos SEED[:RATE]     inject faults, as a real system can give them: short reads and
                          writes, EINTR, EAGAIN (non-blocking fds), EIO, ENOSPC (writes to
                          files), a clock that jumps forward; RATE of the calls that can fail
                          do (default 0.1; 0.05 or 5%). The choices come from SEED alone: the
                          same seed makes the same choices at the same calls. Injected results
                          are recorded and marked [injected] by trace and describe; replay
                          reproduces them. The tasks the guest starts get chaos too, each
                          a seed drawn from SEED (docs/chaos.md)
  --queue URL             send the tasks the guest starts to a task queue on NATS JetStream
                          (nats://HOST:PORT): they run on the machines serving it (wtm
                          worker), recorded into the shared registry (the queue's server
                          unless --registry names another nats:// one); see docs/distributed.md
  -T, --trace             print each call of the guest to stderr as it happens, one line
                          per call in the format of 'wtm trace' (time since start, record
                          number, call with arguments by name, result or errno name, output,
                          duration), in order with the guest's own stderr; works with
                          --no-record. Lines of tasks start with the task's id (8 chars);
                          the main process's lines have no prefix
  --trace-width N         bytes of each buffer a trace line shows (default 32; 0: all);
                          implies -T
${registryHelp}
  -h, --help              show this help

The recording reaches the registry as the guest runs (at least every 250 ms), so a wtm that
is killed loses at most that: its record then reads as interrupted. Ctrl-C (SIGINT) or
SIGTERM stops the guest, keeps its log and records it as interrupted. If the recording
cannot be written (a full disk), the guest is stopped, the log so far kept, and the record
says failed.

Exit status: the guest's exit code; ${134} if it trapped; 124 if it timed out; 130 or 143 if
wtm was interrupted by SIGINT or SIGTERM; 1 if it could not start or its recording failed;
2 for a command-line mistake.`;

/** MODULE names an image when it is not a file there and does not end in .wasm. */
function looksLikeImage(module: string): boolean {
  return !module.endsWith('.wasm') && !fs.existsSync(module);
}

/** Parses `--dir HOST:GUEST[:ro]`. */
export function parseDir(spec: string): MountConfig {
  let s = spec;
  let readonly = false;
  if (s.endsWith(':ro')) {
    readonly = true;
    s = s.slice(0, -3);
  } else if (s.endsWith(':rw')) {
    s = s.slice(0, -3);
  } else {
    // HOST:GUEST:MODE with a mode that is neither: say which modes exist.
    const parts = s.split(':');
    const mode = parts.at(-1)!;
    if (parts.length >= 3 && /^[a-z]{1,3}$/.test(mode) && parts.at(-2)!.startsWith('/')) {
      throw new UsageError(`--dir ${spec}: unknown mount mode '${mode}' (ro: read-only, rw: read-write, the default)`);
    }
  }
  const colon = s.lastIndexOf(':');
  if (colon <= 0 || colon === s.length - 1) throw new UsageError(`--dir ${spec}: expected HOST:GUEST[:ro], e.g. --dir ./data:/data`);
  const guest = s.slice(colon + 1);
  if (!guest.startsWith('/')) throw new UsageError(`--dir ${spec}: the guest path must be absolute (${guest})`);
  const host = path.resolve(s.slice(0, colon));
  // A file is a tar archive (plain or gzip), mounted read-only without unpacking it.
  const isFile = fs.statSync(host, { throwIfNoEntry: false })?.isFile() ?? false;
  return isFile ? { host, guest, readonly: true, kind: 'tar' } : { host, guest, readonly };
}

export async function runCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, {
    dir: { value: true, repeat: true },
    env: { value: true, repeat: true },
    'no-host': { value: false },
    'no-record': { value: false },
    'max-tasks': { value: true },
    'max-tasks-per-tree': { value: true },
    'max-task-depth': { value: true },
    isolation: { value: true },
    'max-open-files': { value: true },
    'max-fds': { value: true },
    timeout: { value: true },
    'max-memory': { value: true },
    T: { value: false },
    trace: { value: false },
    'trace-width': { value: true },
    chaos: { value: true },
    argv0: { value: true },
    invoke: { value: true },
    queue: { value: true },
    ...registryFlag,
    help: { value: false },
    h: { value: false },
  }, true);
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(runHelp + '\n');
    return 0;
  }
  const module = p.positionals[0];
  if (module === undefined) throw new UsageError('needs a MODULE (a .wasm file)');
  // Defaults from the settings file ($WTM_HOME/config.yaml) for the flags not given.
  if (p.flags.has('max-open-files')) p.flags.set('max-fds', p.flags.get('max-open-files')!);
  applyRunSettings(p);
  const env: string[] = [];
  const noHost = p.flags.has('no-host');
  if (!noHost) {
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env.push(`${k}=${v}`);
    env.push(`PWD=${process.cwd()}`);
  }
  // Names whose values come from the host: withheld from exports unless --with-host-env.
  const hostEnv = new Set(noHost ? [] : env.map((e) => e.slice(0, e.indexOf('='))));
  const envFlags: string[] = [];
  for (const e of p.flags.get('env') ?? []) {
    const eq = e.indexOf('=');
    if (eq === 0 || e === '') throw new UsageError(`--env ${e}: expected NAME=VALUE, or NAME to pass the host's value`);
    const name = eq < 0 ? e : e.slice(0, eq);
    let entry = e;
    if (eq < 0) {
      // --env NAME: the host's value of that one variable (none if the host has none).
      const v = process.env[name];
      if (v === undefined) continue;
      entry = `${name}=${v}`;
      hostEnv.add(name);
    } else {
      hostEnv.delete(name);
    }
    const at = env.findIndex((x) => x.startsWith(`${name}=`));
    if (at >= 0) env.splice(at, 1);
    env.push(entry);
    envFlags.push(entry);
  }
  const isolation = p.flags.get('isolation')?.[0];
  if (isolation !== undefined && isolation !== 'thread' && isolation !== 'process') throw new UsageError(`--isolation ${isolation}: expected thread or process`);
  const limits = {
    ...(isolation !== undefined ? { isolation: isolation as 'thread' | 'process' } : {}),
    maxConcurrency: countFlag(p, 'max-tasks'), maxTasksPerTree: countFlag(p, 'max-tasks-per-tree'), maxTaskDepth: countFlag(p, 'max-task-depth'), maxOpenFiles: countFlag(p, 'max-fds') ?? countFlag(p, 'max-open-files'),
  };
  const bounds = { timeoutMs: durationFlag(p, 'timeout'), memoryLimitBytes: sizeFlag(p, 'max-memory'), trace: traceFlag(p), argv0: p.flags.get('argv0')?.[0], invoke: p.flags.get('invoke')?.[0], chaos: chaosFlag(p) };
  // Tasks sent to a queue on NATS JetStream run on the machines serving it (wtm worker);
  // their modules travel through the shared registry.
  const queueUrl = queueFlag(p);
  if (queueUrl !== undefined) sharedRegistryFor(p, queueUrl);
  const registryOrNull = looksLikeImage(module) || !p.flags.has('no-record') || queueUrl !== undefined ? await openRegistry(p) : null;
  const registry = p.flags.has('no-record') ? undefined : registryOrNull ?? undefined;
  const mounts = (p.flags.get('dir') ?? []).map(parseDir);
  // MODULE that is not a file but names an image of the registry: run the image.
  let image: ImageRun | null = null;
  let imageRunId: string | undefined;
  if (looksLikeImage(module) && registryOrNull) {
    // As Docker: the arguments replace the image's Cmd; its Entrypoint stays.
    // Its writable root is named by the process's id, so 'wtm rm ID' finds it.
    imageRunId = randomUUID();
    image = await prepareImageRun(registryOrNull, module, layersDir(p), path.join(path.dirname(layersDir(p)), 'roots'), imageRunId, undefined, p.rest);
  }
  // Tasks get their directories in the registry's directory (a temporary one without --no-record).
  let queue: NatsTaskQueue | undefined;
  if (queueUrl !== undefined) {
    try {
      queue = await NatsTaskQueue.open(queueUrl, { registry: registryOrNull! });
    } catch (e) {
      throw new UserError((e as Error).message);
    }
  }
  const runtime = new Runtime({ registry, ...limits, ...(queue ? { queue } : {}) });
  const onTaskEvent = (e: TreeEvent) => process.stderr.write(`wtm: ${describeTreeEvent(e)}\n`);
  const stopSignals = handleSignals(runtime);
  try {
    // Not recorded, the guest may run on this thread (no worker to start): a signal then ends
    // wtm at once, as it would end any other program, since no handler could run meanwhile.
    return await runMain(runtime, image, module, p.rest, env, noHost, envFlags, [...hostEnv], mounts, registry, onTaskEvent, { ...bounds, processId: imageRunId, ...(registry ? {} : { onInline: stopSignals }) });
  } finally {
    stopSignals();
    if (image) closeMountHandles(image.root);
    await runtime.close();
  }
}

/** Exit status after a signal, as a shell reports it (128 + the signal's number). */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/**
 * SIGINT, SIGTERM and SIGHUP stop the guest and its tasks; their recordings keep what was
 * logged and say `interrupted`. A guest that does not stop at once (a thread blocked reading a
 * terminal cannot be stopped until the read returns) has its recording ended anyway after a
 * moment, and wtm exits; a second signal exits at once, after doing the same.
 */
function handleSignals(runtime: Runtime): () => void {
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let first: NodeJS.Signals | null = null;
  let timer: NodeJS.Timeout | undefined;
  const leave = async (sig: NodeJS.Signals) => {
    await interruptRecordingsNow(sig);
    // Re-raised with its default action: the process ends at once, as killed by the signal
    // (what a shell shows as 128+N), even with a worker thread stuck in a read, which
    // process.exit() would wait for.
    for (const s of sigs) process.off(s, on);
    process.kill(process.pid, sig);
  };
  const on = (sig: NodeJS.Signals) => {
    if (first !== null) return void leave(first);
    first = sig;
    process.stderr.write(`wtm: ${sig}: stopping the guest; its recording is kept as interrupted\n`);
    runtime.interrupt(sig);
    timer = setTimeout(() => void leave(sig), 2000);
    timer.unref();
  };
  for (const s of sigs) process.on(s, on);
  return () => {
    if (timer) clearTimeout(timer);
    for (const s of sigs) process.off(s, on);
  };
}

async function runMain(runtime: Runtime, image: ImageRun | null, module: string, rest: string[], env: string[], noHost: boolean, envFlags: string[], hostEnv: string[], mounts: MountConfig[], registry: Registry | undefined, onTaskEvent: (e: TreeEvent) => void, bounds: { timeoutMs?: number; memoryLimitBytes?: number; trace?: TraceOptions; argv0?: string; processId?: string; invoke?: string; onInline?: () => void; chaos?: ChaosOptions }): Promise<number> {
  const limits = {
    ...(bounds.onInline ? { inline: true, onInline: bounds.onInline } : {}),
    ...(bounds.timeoutMs !== undefined ? { timeoutMs: bounds.timeoutMs } : {}),
    ...(bounds.memoryLimitBytes !== undefined ? { memoryLimitBytes: bounds.memoryLimitBytes } : {}),
    ...(bounds.trace !== undefined ? { trace: bounds.trace } : {}),
    ...(bounds.chaos !== undefined ? { chaos: bounds.chaos } : {}),
  };
  const result = await runtime.run(image ? {
    ...limits,
    // An image is untrusted like a task: its own tree, its env, then --env and --dir on top.
    module: image.module, argv0: image.argv0, args: image.args,
    env: [...image.env.filter((e) => !env.some((x) => x.split('=')[0] === e.split('=')[0])), ...(noHost ? env : envFlags), `PWD=${image.workingDir}`],
    hostEnv, mounts: [image.root, ...mounts], workingDir: image.workingDir, preopens: image.preopens, hostAccess: false, onTaskEvent,
    // Like a module: stdin, stdout and stderr are the terminal's (or the pipes'), and the id is said.
    stdin: 'inherit', stdout: 'inherit', stderr: 'inherit', registry, image: `${image.name}@${image.digest}`,
    ...(bounds.processId !== undefined ? { processId: bounds.processId } : {}),
    onStart: (id) => process.stderr.write(`wtm: process ${id}\n`),
  } : {
    ...limits,
    module,
    args: rest,
    argv0: bounds.argv0 ?? module,
    ...(bounds.invoke !== undefined ? { invoke: { name: bounds.invoke, args: rest } } : {}),
    env,
    hostEnv,
    mounts,
    hostAccess: !noHost,
    stdin: 'inherit',
    stdout: 'inherit',
    stderr: 'inherit',
    registry,
    onStart: (id) => process.stderr.write(`wtm: process ${id}\n`),
    onTaskEvent,
  });
  if (result.interrupted) {
    process.stderr.write(`wtm: interrupted by ${result.interrupted}${result.processId ? `: process ${result.processId} is recorded as interrupted` : ''}\n`);
    return SIGNAL_EXIT[result.interrupted] ?? 1;
  }
  if (result.timedOut) {
    process.stderr.write(`wtm: ${module}: timed out after ${formatMs(bounds.timeoutMs!)} (--timeout)\n`);
    return result.exitCode;
  }
  if (result.error) process.stderr.write(`wtm: ${result.error}\n`);
  if (result.trap) process.stderr.write(`wtm: ${module}: ${result.trap}\n`);
  for (const v of result.results ?? []) process.stdout.write(`${v}\n`);
  // A recording that failed ends the run with an error even if the guest was happy.
  return result.recordingFailed ? 1 : result.exitCode;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** --chaos SEED[:RATE]: the fault injection asked for, or undefined. */
function chaosFlag(p: Parsed): ChaosOptions | undefined {
  const v = p.flags.get('chaos')?.[0];
  if (v === undefined) return undefined;
  try {
    return parseChaos(v);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}


/** A size given as --NAME S: N bytes, or with K, M, G (KiB, MiB, GiB; "KiB" and "KB" too). */
export function sizeFlag(p: Parsed, name: string): number | undefined {
  const v = p.flags.get(name)?.[0];
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg])?(?:i?b)?$/i.exec(v.trim());
  const unit = m?.[2] ? 1024 ** ('kmg'.indexOf(m[2].toLowerCase()) + 1) : 1;
  const bytes = m ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!(bytes >= 65536 && bytes <= 2 ** 32)) throw new UsageError(`--${name} ${v}: expected a size from 64K to 4G, e.g. 512M`);
  return bytes;
}

/** -T/--trace and --trace-width N (which implies it): the live trace asked for, or undefined. */
export function traceFlag(p: Parsed): TraceOptions | undefined {
  const w = p.flags.get('trace-width')?.[0];
  if (w === undefined) return p.flags.has('T') || p.flags.has('trace') ? {} : undefined;
  const width = Number(w);
  if (!(Number.isInteger(width) && width >= 0)) throw new UsageError(`--trace-width ${w}: expected a whole number of bytes >= 0 (0: all)`);
  return { width };
}

/** A whole number >= 1 given as --NAME N, or undefined. */
function countFlag(p: Parsed, name: string): number | undefined {
  const v = p.flags.get(name)?.[0];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1)) throw new UsageError(`--${name} ${v}: expected a whole number >= 1`);
  return n;
}

/** One line for what happened to the run's task tree. */
export function describeTreeEvent(e: TreeEvent): string {
  switch (e.kind) {
    case 'limit':
      if (e.limit === 'handles') return `the task tree holds ${e.value} shared directories: task_submit sharing more answers AGAIN until tasks settle`;
      return e.limit === 'tasks'
        ? `the task tree reached ${e.value} tasks alive (queued, running, or with a result not yet collected): further task_submit calls answer AGAIN until one is collected (--max-tasks-per-tree)`
        : `the task tree reached its depth limit of ${e.value}: task_submit below it answers PERM (--max-task-depth)`;
    case 'deadlock':
      return `all ${e.slots} task slots were held by tasks waiting for tasks still queued (a deadlock): the tree's queued tasks were cancelled (raise --max-tasks)`;
    case 'cancelled':
      return `the main process ended and left ${e.count} task${e.count === 1 ? '' : 's'} queued or running: cancelled`;
  }
}
