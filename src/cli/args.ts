/** A command-line mistake: printed as one line with a hint, exit code 2. */
export class UsageError extends Error {}

export interface FlagSpec {
  /** Takes a value (`--env K=V`) or not (`--no-host`). */
  value: boolean;
  repeat?: boolean;
}

export interface Parsed {
  flags: Map<string, string[]>;
  positionals: string[];
  /** Everything after the first positional when `stopAtPositional` is set. */
  rest: string[];
}

/**
 * Parses `--flag`, `--flag value`, `--flag=value` and positionals. With `stopAtPositional`,
 * the first positional ends flag parsing: it and everything after it (but a first `--`) go
 * to the guest, as `wtm run MODULE ARGS` needs.
 */
export function parseFlags(argv: readonly string[], specs: Record<string, FlagSpec>, stopAtPositional = false): Parsed {
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1, stopAtPositional ? i + 2 : undefined));
      if (stopAtPositional) rest = argv.slice(i + 2);
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const name = (eq >= 0 ? a.slice(0, eq) : a).replace(/^--?/, '');
      const spec = specs[name];
      if (spec === undefined) throw new UsageError(`unknown flag ${a}`);
      let value = '';
      if (spec.value) {
        if (eq >= 0) value = a.slice(eq + 1);
        else if (i + 1 < argv.length) value = argv[++i]!;
        else throw new UsageError(`${eq >= 0 ? a.slice(0, eq) : a} needs a value`);
      } else if (eq >= 0) {
        throw new UsageError(`${a.slice(0, eq)} takes no value`);
      }
      const list = flags.get(name) ?? [];
      if (list.length > 0 && !spec.repeat) throw new UsageError(`flag --${name} given twice`);
      list.push(value);
      flags.set(name, list);
      continue;
    }
    positionals.push(a);
    if (stopAtPositional) {
      rest = argv.slice(i + 1);
      if (rest[0] === '--') rest = rest.slice(1);
      break;
    }
  }
  return { flags, positionals, rest };
}

const DURATION_UNITS: Record<string, number> = { '': 1000, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration flag's value in ms: "500ms", "90s", "10m", "2h", "1d", a bare number being
 * seconds, fractions allowed (rounded to whole ms). Null when it is not one; the caller says
 * which range it takes.
 */
export function durationMs(v: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v.trim());
  return m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? '']!) : null;
}
