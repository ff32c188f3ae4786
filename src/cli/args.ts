import { parseArgs } from 'node:util';
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
 * Parses `--flag`, `--flag value`, `--flag=value`, `-f value`, grouped short flags (`-qT`)
 * and positionals, with Node's `util.parseArgs` (its tokens; wtm's own messages). With
 * `stopAtPositional`, the first positional ends flag parsing: it and everything after it (but
 * a first `--`) go to the guest, as `wtm run MODULE ARGS` needs.
 */
export function parseFlags(argv: readonly string[], specs: Record<string, FlagSpec>, stopAtPositional = false): Parsed {
  let head = [...argv];
  let rest: string[] = [];
  if (stopAtPositional) {
    // Where the flags end: the first word that is neither a flag nor a flag's value.
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--') {
        head = argv.slice(0, i + 2);
        rest = argv.slice(i + 2);
        break;
      }
      if (a.startsWith('-') && a !== '-') {
        if (!a.includes('=') && takesValue(a, specs)) i++;
        continue;
      }
      head = argv.slice(0, i + 1);
      rest = argv.slice(i + 1);
      if (rest[0] === '--') rest = rest.slice(1);
      break;
    }
  }
  const options: Record<string, { type: 'string' | 'boolean'; multiple: true; short?: string }> = {};
  for (const [name, spec] of Object.entries(specs)) options[name] = { type: spec.value ? 'string' : 'boolean', multiple: true, ...(name.length === 1 ? { short: name } : {}) };
  const { tokens } = parseArgs({ args: head, options, strict: false, allowPositionals: true, tokens: true });
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  const skip = new Set<number>();
  for (const t of tokens) {
    if (skip.has(t.index)) continue;
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.kind !== 'option') continue;
    const spec = specs[t.name];
    if (spec === undefined) {
      const near = closest(t.name, Object.keys(specs));
      throw new UsageError(`unknown flag ${t.rawName}${near ? ` (did you mean ${near.length === 1 ? '-' : '--'}${near}?)` : ''}`);
    }
    let value = '';
    if (spec.value) {
      if (t.value === undefined) {
        // parseArgs leaves a value that starts with '-' to be a flag: wtm takes the next word.
        const next = head[t.index + 1];
        if (t.inlineValue || next === undefined) throw new UsageError(`${t.rawName} needs a value`);
        value = next;
        skip.add(t.index + 1);
      } else {
        value = t.value;
      }
    } else if (t.inlineValue) {
      throw new UsageError(`${t.rawName} takes no value`);
    }
    const list = flags.get(t.name) ?? [];
    if (list.length > 0 && !spec.repeat) throw new UsageError(`flag --${t.name} given twice`);
    list.push(value);
    flags.set(t.name, list);
  }
  return { flags, positionals, rest };
}

function takesValue(word: string, specs: Record<string, FlagSpec>): boolean {
  if (word.startsWith('--')) return specs[word.slice(2)]?.value === true;
  // -abc: the last short flag of a group may take the next word.
  return specs[word.at(-1)!]?.value === true && word.length === 2;
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

/** Edit distance (insert, delete, substitute, swap of neighbours), for did-you-mean. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate nearest to `word` (at most 2 edits, or a prefix), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c.length < 2 && word.length > 2) continue;
    const dist = c.startsWith(word) && word.length >= 3 ? 0.5 : distance(word, c);
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  return bestD <= Math.min(2, Math.max(1, Math.floor(word.length / 3))) ? best : undefined;
}

/** A duration given as --NAME D (args.ts durationMs: 500ms, 30s, 2m, 1h, 1d; a bare number is seconds). */
export function durationFlag(p: Parsed, name: string): number | undefined {
  const v = p.flags.get(name)?.[0];
  if (v === undefined) return undefined;
  const ms = durationMs(v);
  if (ms === null || !(ms >= 1 && ms <= 2 ** 31 - 1)) throw new UsageError(`--${name} ${v}: expected a duration from 1ms to 24 days, e.g. 30s, 500ms, 2m, 1h`);
  return ms;
}
