import { DIGEST_RE } from './digest.js';

/**
 * running: its owner (pid, host) is recording it. exited, trapped: the guest ended. failed: it
 * could not start, or recording failed (`error` says why). killed: stopped by a limit (timeout,
 * exit code 124). cancelled: a task cancelled by its parent or its tree's end (exit code 130).
 * interrupted: wtm itself was stopped (a signal, named in `signal`, or killed outright: a
 * `running` record whose owner is gone is read as interrupted). crashed: a task whose host
 * process died (process isolation: a V8 fault, an out-of-memory abort; the signal in `signal`).
 */
export type ProcessState = 'running' | 'exited' | 'trapped' | 'failed' | 'killed' | 'cancelled' | 'interrupted' | 'crashed';
export const PROCESS_STATES: readonly ProcessState[] = ['running', 'exited', 'trapped', 'failed', 'killed', 'cancelled', 'interrupted', 'crashed'];

/** What the registry knows about one process (one run of one module). */
export interface ProcessRecord {
  /** UUID v4, lowercase. */
  id: string;
  /** The process that started this one as a task. */
  parentId?: string;
  /** sha256 hex of the module bytes. */
  moduleDigest: string;
  /** sha256 hex of the canonical JSON of the process config. */
  configDigest: string;
  argv: string[];
  /** ISO 8601 times. */
  startTime: string;
  endTime?: string;
  exitCode?: number;
  /** The trap message (and wasm stack) when the guest trapped. */
  trap?: string;
  state: ProcessState;
  /** Size of the log when the record was last updated. */
  logBytes?: number;
  /** Number of recorded calls. */
  calls?: number;
  /** The wtm version that ran it. */
  wtmVersion: string;
  /** What went wrong, when wtm (not the guest) ended it: a recording error, a failed start. */
  error?: string;
  /** The signal that interrupted wtm (state interrupted), e.g. SIGINT, or that killed a task's host process (state crashed). */
  signal?: string;
  /** The OS process recording it, its host, and its start ("BOOT_ID:TICKS", see liveness.ts). */
  pid?: number;
  host?: string;
  pidStart?: string;
  /** The worker that ran it (a task served from a distributed queue: wtm worker). */
  worker?: { host: string; id: string };
}

/** What `createProcess` needs: the rest is filled in (a new id, now, 'running', this wtm). */
export type NewProcess = Omit<ProcessRecord, 'id' | 'startTime' | 'state' | 'wtmVersion'> &
  Partial<Pick<ProcessRecord, 'id' | 'startTime' | 'state' | 'wtmVersion'>>;

/** The fields that change while and after a process runs. */
export type ProcessPatch = Partial<Pick<ProcessRecord, 'endTime' | 'exitCode' | 'trap' | 'state' | 'logBytes' | 'calls' | 'error' | 'signal'>>;

export const UUID_V4_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const MAX_STRING = 1 << 20;

const FIELDS: Record<keyof ProcessRecord, (v: unknown) => string | null> = {
  id: (v) => (typeof v === 'string' && UUID_V4_RE.test(v) ? null : 'must be a lowercase UUID v4'),
  parentId: (v) => (typeof v === 'string' && UUID_V4_RE.test(v) ? null : 'must be a lowercase UUID v4'),
  moduleDigest: (v) => (typeof v === 'string' && DIGEST_RE.test(v) ? null : 'must be 64 lowercase hex digits'),
  configDigest: (v) => (typeof v === 'string' && DIGEST_RE.test(v) ? null : 'must be 64 lowercase hex digits'),
  argv: (v) =>
    Array.isArray(v) && v.length <= 65536 && v.every((a) => typeof a === 'string' && a.length <= MAX_STRING)
      ? null
      : 'must be an array of at most 65536 strings of at most 1 MiB each',
  startTime: isoTime,
  endTime: isoTime,
  exitCode: (v) => (Number.isSafeInteger(v) ? null : 'must be an integer'),
  trap: (v) => (typeof v === 'string' && v.length <= MAX_STRING ? null : 'must be a string'),
  state: (v) => (PROCESS_STATES.includes(v as ProcessState) ? null : `must be one of ${PROCESS_STATES.join(', ')}`),
  logBytes: count,
  calls: count,
  wtmVersion: (v) => (typeof v === 'string' && v.length > 0 && v.length <= 256 ? null : 'must be a non-empty string'),
  error: (v) => (typeof v === 'string' && v.length <= MAX_STRING ? null : 'must be a string'),
  signal: (v) => (typeof v === 'string' && /^SIG[A-Z0-9]{1,10}$/.test(v) ? null : 'must be a signal name'),
  pid: (v) => (Number.isSafeInteger(v) && (v as number) > 0 ? null : 'must be a positive integer'),
  host: (v) => (typeof v === 'string' && v.length <= 256 ? null : 'must be a string'),
  pidStart: (v) => (typeof v === 'string' && v.length <= 256 ? null : 'must be a string'),
  worker: (v) => {
    const w = v as { host?: unknown; id?: unknown } | null;
    return typeof w === 'object' && w !== null && !Array.isArray(w) && Object.keys(w).length === 2
      && typeof w.host === 'string' && w.host.length <= 256 && typeof w.id === 'string' && w.id.length <= 256
      ? null : 'must be { host, id } (two strings)';
  },
};
const REQUIRED: (keyof ProcessRecord)[] = ['id', 'moduleDigest', 'configDigest', 'argv', 'startTime', 'state', 'wtmVersion'];

function isoTime(v: unknown): string | null {
  return typeof v === 'string' && ISO_RE.test(v) && !Number.isNaN(Date.parse(v)) ? null : 'must be an ISO 8601 time';
}

function count(v: unknown): string | null {
  return Number.isSafeInteger(v) && (v as number) >= 0 ? null : 'must be a non-negative integer';
}

/**
 * Throws a one-line Error unless `v` is a well-formed ProcessRecord with no unknown fields.
 * Optional fields that are present with the value undefined are treated as absent.
 */
export function checkProcessRecord(v: unknown, what = 'process record'): asserts v is ProcessRecord {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what}: not an object`);
  const rec = v as Record<string, unknown>;
  for (const k of REQUIRED) if (rec[k] === undefined) throw new Error(`${what}: missing ${k}`);
  for (const [k, val] of Object.entries(rec)) {
    if (val === undefined) continue;
    const check = FIELDS[k as keyof ProcessRecord];
    if (!check) throw new Error(`${what}: unknown field ${JSON.stringify(k)}`);
    const err = check(val);
    if (err) throw new Error(`${what}: ${k} ${err}`);
  }
}

/** A copy of `rec` without undefined fields, keys in a stable order. */
export function cleanRecord(rec: ProcessRecord): ProcessRecord {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(FIELDS)) {
    const v = (rec as unknown as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = Array.isArray(v) ? [...v] : v;
  }
  return out as unknown as ProcessRecord;
}
