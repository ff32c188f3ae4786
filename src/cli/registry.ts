import { LocalStore } from '../registry/local.js';
import { Registry } from '../registry/registry.js';
import type { FlagSpec, Parsed } from './args.js';
import { recoverInterrupted } from '../runtime/recovery.js';
import { registryDir } from './settings.js';

/** The flag every registry command takes. */
export const registryFlag: Record<string, FlagSpec> = { registry: { value: true } };
export const registryHelp = `  --registry DIR          the registry (default: the settings file's, else $WTM_HOME or ~/.wtm)`;

/**
 * Opens the registry a command names. First the records of runs whose wtm was killed are made
 * to say `interrupted`, their logs sealed (runtime/recovery.ts); and every so often
 * (LocalStore.sweepIfDue: one stat per command, a sweep at most every 10 minutes) the temp
 * files and unpack directories that killed writers left behind are removed.
 */
export async function openRegistry(p: Parsed): Promise<Registry> {
  const reg = await Registry.open(registryDir(p));
  try {
    await recoverInterrupted(reg);
  } catch (e) {
    process.stderr.write(`wtm: could not recover interrupted runs: ${(e as Error).message}
`);
  }
  if (reg.store instanceof LocalStore) await reg.store.sweepIfDue();
  return reg;
}
