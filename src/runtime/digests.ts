import type { Registry } from '../registry/registry.js';
import { sha256Hex } from '../registry/digest.js';

/** sha256 of module bytes, computed once per bytes object; modules stored once per registry. */
export class ModuleDigests {
  private readonly known = new WeakMap<Uint8Array, string>();
  private readonly stored = new WeakMap<Registry, Set<string>>();
  of(bytes: Uint8Array): string {
    let d = this.known.get(bytes);
    if (d === undefined) {
      d = sha256Hex(bytes);
      this.known.set(bytes, d);
    }
    return d;
  }
  async put(registry: Registry, bytes: Uint8Array): Promise<string> {
    const digest = this.of(bytes);
    let set = this.stored.get(registry);
    if (set === undefined) this.stored.set(registry, (set = new Set()));
    if (!set.has(digest)) {
      await registry.putModule(bytes);
      set.add(digest);
    }
    return digest;
  }
}
