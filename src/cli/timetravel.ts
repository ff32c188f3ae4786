import fs from 'node:fs';
import type { RunResult } from '../runtime/index.js';
import type { Registry } from '../registry/registry.js';
import { UserError } from '../runtime/index.js';
import { LogStream } from '../timemachine/stream.js';
import { formatTraceLine, traceJson } from '../timemachine/trace-format.js';
import { logPoint, type LogPoint } from '../views/timetravel.js';
import type { FdInfo } from '../views/fds.js';
import { formatBytes, printData } from './output.js';

/** What `wtm replay --until N` was asked to show. */
export interface TimeTravel {
  until: number;
  inspect: boolean;
  last: number;
  dumpMemory?: string;
  format: 'text' | 'json';
}

const WASM_PAGE = 65536;

/** Reads the log up to record `until` (and counts it all): UserError when `until` is past its end. */
export async function readPoint(reg: Registry, id: string, t: TimeTravel): Promise<LogPoint> {
  const chunks = await reg.streamLog(id);
  if (!chunks) throw new UserError(`process ${id} has no log (was it run with --no-record?)`);
  const point = await logPoint(new LogStream(chunks), t.until, t.inspect ? t.last : 0);
  if (t.until >= point.total) {
    throw new UserError(`--until ${t.until} is past the end of the log: process ${id} has ${point.total} records (0 to ${point.total - 1})`);
  }
  return point;
}

/** Prints where replay stopped (stderr), writes the memory dump, prints the inspection (stdout). */
export function reportPoint(id: string, t: TimeTravel, point: LogPoint, result: RunResult): void {
  const stopped = result.stoppedAt ?? (result.calls !== undefined ? result.calls - 1 : t.until);
  const ended = result.stoppedAt === undefined;
  process.stderr.write(`wtm: stopped at record ${stopped} of ${point.total}${ended ? ' (the guest ended there)' : ''}\n`);
  if (t.dumpMemory !== undefined) {
    if (!result.memory) throw new UserError('the guest exports no memory to dump');
    writePrivate(t.dumpMemory, result.memory);
  }
  if (!t.inspect) return;
  const bytes = result.memoryBytes ?? null;
  const memory = bytes === null ? null : { pages: bytes / WASM_PAGE, bytes };
  if (t.format === 'json') {
    printData({
      process: id, stoppedAt: stopped, records: point.total, memory,
      ...(t.dumpMemory !== undefined ? { memoryDump: t.dumpMemory } : {}),
      fds: point.fds, lastCalls: point.last.map(({ index, rec }) => traceJson(rec, index)),
    }, 'json');
    return;
  }
  const lines = [
    `Process:   ${id}`,
    `Stopped:   after record ${stopped} of ${point.total} (records 0 to ${point.total - 1})`,
    `Memory:    ${memory ? `${memory.pages} pages (${memory.bytes} bytes, ${formatBytes(memory.bytes)})` : '(the guest exports no memory)'}${t.dumpMemory !== undefined ? `, written to ${t.dumpMemory}` : ''}`,
    `Open fds:`,
    ...fdTable(point.fds),
    `Last ${point.last.length} call${point.last.length === 1 ? '' : 's'}:`,
    ...point.last.map(({ index, rec }) => '  ' + formatTraceLine(rec, index)),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function fdTable(fds: FdInfo[]): string[] {
  const rows = fds.map((f) => [
    String(f.fd), f.kind, f.path ?? '?', f.offset === null ? '-' : String(f.offset),
    f.access ?? '',
    f.names ? [f.oflags ? `oflags=${f.names.oflags}` : '', f.fdflags ? `fdflags=${f.names.fdflags}` : ''].filter(Boolean).join(' ') : '',
    f.openedAt === null ? '' : `#${f.openedAt}`,
  ]);
  const head = ['FD', 'KIND', 'PATH', 'OFFSET', 'ACCESS', 'FLAGS', 'AT'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** Writes a file only its owner can read (guest memory may hold secrets): a new file, mode 0600. */
function writePrivate(file: string, data: Uint8Array): void {
  try {
    fs.rmSync(file, { force: true });
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
      for (let off = 0; off < data.byteLength;) off += fs.writeSync(fd, data, off);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw new UserError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
