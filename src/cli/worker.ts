import os from 'node:os';
import { isNatsUrl } from '../registry/nats-link.js';
import { Runtime, UserError } from '../runtime/index.js';
import { NatsTaskQueue, workerIdentity } from '../runtime/nats-queue.js';
import { durationFlag, parseFlags, UsageError, type Parsed } from './args.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';
import { registryDir } from './settings.js';

export const workerHelp = `Usage: wtm worker --queue nats://HOST:PORT [--concurrency N] [flags]

Serves a task queue on NATS JetStream: takes tasks that 'wtm run --queue' (or a program using
the library with a NatsTaskQueue) submitted, runs each as a task process on this machine (in a
fresh directory of its own, as any task), records it into the shared registry, and sends its
result back. Run one on each machine that should take tasks; see docs/distributed.md.

A worker pulls only as many tasks as it has free slots, and tells the server it is still
working on each. A worker that dies has its tasks delivered again, to another worker, once the
ack wait runs out. SIGTERM or SIGINT drains it: it takes no new task, finishes (and reports)
those it holds, and exits 0; a second signal stops the tasks at once.

Flags:
  --queue URL             the NATS server holding the queue (nats://HOST:PORT)
  --concurrency N         tasks run at once (default: the number of cores)
  --ack-wait DURATION     how long the server waits for a worker's heartbeat before it gives
                          the task to another worker (default 30s)
${registryHelp}
                          (default for a worker: the queue's server)
  -h, --help              show this help

Each task's process record names the worker that ran it ('worker': host name and worker id,
in 'wtm get processes -o json').`;

/** --queue URL, checked. */
export function queueFlag(p: Parsed): string | undefined {
  const url = p.flags.get('queue')?.[0];
  if (url !== undefined && !isNatsUrl(url)) throw new UsageError(`--queue ${url}: expected nats://HOST:PORT`);
  return url;
}

/**
 * A distributed queue's tasks find their modules in the registry: it must be a shared one.
 * Unless a nats:// registry is named (--registry, WTM_REGISTRY, the settings file), it is the
 * queue's server.
 */
export function sharedRegistryFor(p: Parsed, queue: string): void {
  if (isNatsUrl(registryDir(p))) return;
  if (p.flags.has('registry')) throw new UsageError(`--registry ${p.flags.get('registry')![0]}: tasks of a queue on another machine need a shared registry (nats://HOST:PORT); leave it out to use the queue's server`);
  p.flags.set('registry', [queue]);
}

export async function workerCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, {
    queue: { value: true }, concurrency: { value: true }, 'ack-wait': { value: true }, ...registryFlag,
    help: { value: false }, h: { value: false },
  });
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(workerHelp + '\n');
    return 0;
  }
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument ${p.positionals[0]}`);
  const url = queueFlag(p);
  if (url === undefined) throw new UsageError('needs --queue nats://HOST:PORT');
  const c = p.flags.get('concurrency')?.[0];
  const concurrency = c === undefined ? undefined : Number(c);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 4096)) throw new UsageError(`--concurrency ${c}: expected a whole number from 1 to 4096`);
  const ackWaitMs = durationFlag(p, 'ack-wait');
  if (ackWaitMs !== undefined && ackWaitMs < 1000) throw new UsageError('--ack-wait: at least 1s');
  sharedRegistryFor(p, url);
  const registry = await openRegistry(p);
  const worker = workerIdentity();
  registry.worker = worker;
  const slots = concurrency ?? os.availableParallelism();
  const runtime = new Runtime({ registry, maxConcurrency: slots });
  const log = (line: string) => process.stderr.write(`wtm worker: ${line}\n`);
  let queue: NatsTaskQueue;
  try {
    queue = await NatsTaskQueue.open(url, {
      registry, worker, concurrency: slots, log, ...(ackWaitMs !== undefined ? { ackWaitMs } : {}),
      execute: async (processId, spec, signal) => ({ ...(await runtime.spawn(spec, { id: processId, signal }).wait()), worker }),
    });
  } catch (e) {
    await runtime.close();
    throw new UserError((e as Error).message);
  }
  const drain = new AbortController();
  let signals = 0;
  const on = (sig: NodeJS.Signals) => {
    if (signals++ === 0) {
      log(`${sig}: draining (no new tasks; finishing those held)`);
      drain.abort(sig);
    } else {
      log(`${sig} again: stopping the tasks`);
      runtime.interrupt(sig);
    }
  };
  process.on('SIGTERM', on);
  process.on('SIGINT', on);
  log(`serving ${url} as ${worker.host}/${worker.id} with ${slots} slot${slots === 1 ? '' : 's'}`);
  try {
    await queue.serve(drain.signal);
  } finally {
    process.off('SIGTERM', on);
    process.off('SIGINT', on);
    await queue.close();
    await runtime.close();
  }
  log('drained');
  return 0;
}
