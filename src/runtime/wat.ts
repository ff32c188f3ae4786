/**
 * WebAssembly text (.wat) to a binary module, through WABT's own parser (the `wabt` package,
 * loaded only when a text module is run). Function and local names are kept (the name
 * section), so traps and profiles name them.
 */

/** A text module: a `.wat` file, or bytes that start (after blanks and comments) with `(`. */
export function looksLikeWat(name: string, bytes: Uint8Array): boolean {
  if (name.endsWith('.wat') || name.endsWith('.wast')) return true;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (c === 0x3b && bytes[i + 1] === 0x3b) {
      while (i < bytes.length && bytes[i] !== 0x0a) i++;
      continue;
    }
    return c === 0x28;
  }
  return false;
}

/** The binary of a text module; an Error whose message is WABT's first error line. */
export async function watToWasm(name: string, text: Uint8Array): Promise<Uint8Array> {
  const { default: init } = await import('wabt');
  const wabt = await init();
  let module: ReturnType<typeof wabt.parseWat> | undefined;
  try {
    module = wabt.parseWat(name, new TextDecoder().decode(text), { multi_value: true, bulk_memory: true, sign_extension: true, sat_float_to_int: true, mutable_globals: true });
    module.resolveNames();
    module.validate();
    return module.toBinary({ write_debug_names: true }).buffer;
  } catch (e) {
    // WABT says `NAME:LINE:COL: error: …` (its NAME may carry stray bytes): line, column, error.
    const m = /(\d+:\d+: error: .*)/.exec(String((e as Error).message ?? e));
    throw new Error(m ? `line ${m[1]!.replace(/^(\d+):(\d+): error: /, '$1, column $2: ')}` : 'cannot parse the text module');
  } finally {
    module?.destroy();
  }
}
