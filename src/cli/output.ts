import { createRequire } from 'node:module';
import { UsageError } from './args.js';

// YAML is loaded only when asked for: it is ~60 modules, and `wtm run` never needs it.
const require = createRequire(import.meta.url);

export type Format = 'text' | 'json' | 'yaml';

let pipeWatched = false;
/**
 * `wtm get processes | head`: a reader that stops early ends the output quietly, not with a
 * stack trace. Called only by commands that print through process.stdout: touching it makes a
 * pipe on fd 1 non-blocking, which a guest's (or `logs`') synchronous writes must not meet.
 */
export function quietOnClosedPipe(): void {
  if (pipeWatched) return;
  pipeWatched = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

export function parseFormat(values: string[] | undefined): Format {
  const f = values?.[0] ?? 'text';
  if (f !== 'text' && f !== 'json' && f !== 'yaml') throw new UsageError(`-o ${f}: expected text, json or yaml`);
  return f;
}

/** Prints structured data as JSON or YAML (BigInts as strings). */
export function printData(data: unknown, format: 'json' | 'yaml'): void {
  quietOnClosedPipe();
  const plain = JSON.parse(JSON.stringify(data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  if (format === 'json') process.stdout.write(JSON.stringify(plain, null, 2) + '\n');
  else process.stdout.write((require('yaml') as typeof import('yaml')).stringify(plain));
}

/**
 * Prints rows as an aligned text table with a header. `fitLast`: on a terminal, the last
 * column (a command line) is cut to the terminal's width, ending in `…`.
 */
export function printTable(headers: string[], rows: string[][], opts: { fitLast?: boolean } = {}): void {
  quietOnClosedPipe();
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const columns = opts.fitLast && process.stdout.isTTY ? process.stdout.columns : undefined;
  const fit = (line: string) => (columns !== undefined && line.length > columns ? line.slice(0, Math.max(1, columns - 1)) + '…' : line);
  const line = (cells: string[]) => fit(cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
  process.stdout.write([line(headers), ...rows.map(line)].join('\n') + '\n');
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatDuration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 1000) return `${ms.toFixed(1)}ms`;
  return `${(ms / 1000).toFixed(2)}s`;
}
