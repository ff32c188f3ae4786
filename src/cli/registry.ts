import { LocalStore } from '../registry/local.js';
import { Registry } from '../registry/registry.js';
import type { FlagSpec, Parsed } from './args.js';
import { recoverInterrupted } from '../runtime/recovery.js';
import { UserError } from '../runtime/index.js';
import { isNatsUrl } from '../registry/nats-link.js';
import { registryDir, registryLocalDir } from './settings.js';

/** The flag every registry command takes. */
export const registryFlag: Record<string, FlagSpec> = { registry: { value: true } };
export const registryHelp = `  --registry DIR|URL      the registry: a directory, or nats://HOST:PORT (a registry on NATS
                          JetStream, shared by many machines; see docs/distributed.md)
                          (default: $WTM_REGISTRY, the settings file's, else $WTM_HOME or ~/.wtm)`;

/** What the command opened that holds a connection: closed by main() when the command ends. */
const opened: { close(): Promise<void> }[] = [];

/** Closes the connections the command opened (its remote registry). */
export async function closeOpened(): Promise<void> {
  for (const c of opened.splice(0)) await c.close().catch(() => {});
}

/**
 * Opens the registry a command names. First the records of runs whose wtm was killed are made
 * to say `interrupted`, their logs sealed (runtime/recovery.ts); and every so often
 * (LocalStore.sweepIfDue: one stat per command, a sweep at most every 10 minutes) the temp
 * files and unpack directories that killed writers left behind are removed.
 */
export async function openRegistry(p: Parsed): Promise<Registry> {
  const where = registryDir(p);
  let reg: Registry;
  if (isNatsUrl(where)) {
    const local = registryLocalDir(p);
    const { NatsStore } = await import('../registry/nats-store.js');
    let store: Awaited<ReturnType<typeof NatsStore.open>>;
    try {
      store = await NatsStore.open(where, { localDir: local, cacheDir: `${local}/cache` });
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    opened.push(store);
    reg = new Registry(store);
  } else {
    reg = await Registry.open(where);
  }
  try {
    await recoverInterrupted(reg);
  } catch (e) {
    process.stderr.write(`wtm: could not recover interrupted runs: ${(e as Error).message}
`);
  }
  if (reg.store instanceof LocalStore) await reg.store.sweepIfDue();
  return reg;
}
