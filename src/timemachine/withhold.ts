import { CALL_BY_METHOD, writeResult } from './calls.js';
import { RecordReader } from './codec.js';
import { LogWriter } from './format.js';
import type { LogStream } from './stream.js';

const ENVIRON = CALL_BY_METHOD.get('environ')!;

/** `NAME=value` → `NAME=` when NAME is withheld; everything else as it is. */
export function withholdValues(env: readonly string[], names: ReadonlySet<string>): string[] {
  return env.map((e) => {
    const eq = e.indexOf('=');
    const name = eq >= 0 ? e.slice(0, eq) : e;
    return names.has(name) ? `${name}=` : e;
  });
}

/**
 * A copy of a log in which the values of the named environment variables are withheld
 * (`NAME=`) from every environ_get record; every other record is copied byte for byte, in the
 * same batches. `changed` says afterwards whether any value was withheld (if not, the original
 * log can be used as it is). The output is deterministic: two passes give the same bytes (an
 * export measures the length first). A cut log's torn tail is left out.
 */
export async function* withholdEnvInLog(log: LogStream, names: ReadonlySet<string>, state: { changed: boolean }): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  // Batches are sealed where the original's end (flush below), never by size.
  const writer = new LogWriter((chunk) => out.push(chunk.slice()));
  const w = writer.records;
  for await (const batch of log.batches()) {
    for (const payload of batch.records) {
      w.beginRecord();
      if (payload[0] === ENVIRON.id) {
        const r = new RecordReader(payload);
        r.u8();
        const start = r.uvarint();
        const duration = r.uvarint();
        const n = r.uvarint();
        const env: string[] = [];
        for (let i = 0; i < n; i++) env.push(r.string());
        const kept = withholdValues(env, names);
        if (kept.some((e, i) => e !== env[i])) state.changed = true;
        w.u8(ENVIRON.id);
        w.uvarint(start);
        w.uvarint(duration);
        writeResult(w, ENVIRON, [], kept);
      } else {
        w.raw(payload);
      }
      w.endRecord();
    }
    writer.flush();
    yield* out.splice(0);
  }
}
