import { LocalStore } from '../registry/local.js';
import { Registry } from '../registry/registry.js';
import type { FlagSpec, Parsed } from './args.js';

/** The flag every registry command takes. */
export const registryFlag: Record<string, FlagSpec> = { registry: { value: true } };
export const registryHelp = `  --registry DIR          the registry (default: $WTM_HOME or ~/.wtm)`;

/**
 * Opens the registry a command names. Every so often (LocalStore.sweepIfDue: one stat per
 * command, a sweep at most every 10 minutes) it first removes the temp files and unpack
 * directories that killed writers left behind.
 */
export async function openRegistry(p: Parsed): Promise<Registry> {
  const reg = await Registry.open(p.flags.get('registry')?.[0]);
  if (reg.store instanceof LocalStore) await reg.store.sweepIfDue();
  return reg;
}
