import { Registry } from '../registry/registry.js';
import type { FlagSpec, Parsed } from './args.js';

/** The flag every registry command takes. */
export const registryFlag: Record<string, FlagSpec> = { registry: { value: true } };
export const registryHelp = `  --registry DIR          the registry (default: $WTM_HOME or ~/.wtm)`;

export function openRegistry(p: Parsed): Promise<Registry> {
  return Registry.open(p.flags.get('registry')?.[0]);
}
