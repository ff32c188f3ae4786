import fs from 'node:fs';
import type { ProcessRecord } from '../registry/index.js';
import { UserError } from '../runtime/index.js';
import { LogStream } from '../timemachine/stream.js';
import { timelineData, timelineHtml, type LaneInput } from '../views/index.js';
import { parseFlags, UsageError } from './args.js';
import { formatBytes, printData, quietOnClosedPipe } from './output.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

export const timelineHelp = `Usage: wtm timeline [--out FILE.html] [-o text|json] ID

Writes one self-contained HTML page (it loads nothing: open it offline, mail it) showing a
recorded process and its tasks, and theirs, as lanes over time: each call a mark, coloured by
kind (files, clock, random, stdio: reads and writes of fds 0-2, tasks: wtm.task_*, other),
the calls that fall into one pixel drawn as one stronger mark. Hover a mark for the call, its
parameters, result, start and duration (and the text written or read); stdout, stderr and
stdin are listed below, a click there shows the write. Zoom with the wheel, the buttons or
+ and -, pan by dragging, 0 shows everything. Environment values are not written into the
page, only names.

Lanes are placed by their records' times (ms): a log times its calls from when the module
began to run, which is later than the record's start time (compiling the module, starting its
worker: hundreds of ms for a main process). So a process that has ended is placed with its
last call ending at its record's end time; one still running, at its start time.
Nothing is run again. ID may be a unique prefix.

Flags:
  --out FILE              where to write the page (default: ID.timeline.html here)
  -o, --output FORMAT     text (default: one line saying where it was written) or json:
                          {"out": FILE, "lanes": N, "marks": CALLS}
${registryHelp}`;

const flags = { ...registryFlag, help: { value: false }, h: { value: false }, o: { value: true }, output: { value: true }, out: { value: true } };

export async function timelineCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, flags);
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(timelineHelp + '\n');
    return 0;
  }
  const format = p.flags.get('o')?.[0] ?? p.flags.get('output')?.[0] ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`-o ${format}: expected text or json`);
  if (p.positionals.length !== 1) throw new UsageError('needs one process ID');
  const outFlag = p.flags.get('out')?.[0];
  if (outFlag === '') throw new UsageError('--out needs a file name');
  const reg = await openRegistry(p);
  const id = await reg.resolveProcessId(p.positionals[0]!);
  const rec = await reg.getProcess(id);
  if (!rec) throw new UserError(`no process ${id}`);
  const out = outFlag ?? `${id}.timeline.html`;

  // The process, then its tasks depth first, each task's children in the order they started.
  const all = (await reg.scanProcesses()).records;
  const kids = new Map<string, ProcessRecord[]>();
  for (const r of all) if (r.parentId) kids.set(r.parentId, [...(kids.get(r.parentId) ?? []), r]);
  const tree: { r: ProcessRecord; depth: number }[] = [];
  const visit = (r: ProcessRecord, depth: number) => {
    tree.push({ r, depth });
    for (const k of (kids.get(r.id) ?? []).sort((a, b) => a.startTime.localeCompare(b.startTime) || a.id.localeCompare(b.id))) visit(k, depth + 1);
  };
  visit(rec, 0);

  const lanes: LaneInput[] = [];
  const readers: (LogStream | null)[] = [];
  for (const { r, depth } of tree) {
    const chunks = await reg.streamLog(r.id);
    if (!chunks && r.id === id) throw new UserError(`process ${id} has no log`);
    const reader = chunks ? new LogStream(chunks) : null;
    readers.push(reader);
    lanes.push({
      id: r.id, parentId: r.parentId, argv: r.argv, state: r.state, exitCode: r.exitCode,
      startMs: Date.parse(r.startTime), endMs: r.endTime ? Date.parse(r.endTime) : undefined, depth,
      records: reader ? reader.records() : null,
    });
  }
  const data = await timelineData(lanes, `${id} · ${rec.argv.join(' ')}`);
  data.lanes.forEach((l, i) => {
    if (readers[i]?.truncated) l.state += ' (log cut short)';
  });
  const html = timelineHtml(data);
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, html);
    fs.renameSync(tmp, out);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new UserError(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const marks = data.lanes.reduce((n, l) => n + l.count, 0);
  if (format === 'json') {
    printData({ out, lanes: data.lanes.length, marks }, 'json');
  } else {
    quietOnClosedPipe();
    process.stdout.write(`wrote ${out} (${data.lanes.length} lane${data.lanes.length === 1 ? '' : 's'}, ${marks} calls, ${formatBytes(Buffer.byteLength(html))})\n`);
  }
  return 0;
}
