import type { JetStreamClient, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * One connection to a NATS server with JetStream, as the registry and the task queue use it.
 * The NATS client is loaded on first use (a local registry never loads it).
 */
export interface NatsLink {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The largest message the server takes (its max_payload). */
  readonly maxPayload: number;
  /** Creates the stream, or updates the existing one's config with `cfg` (idempotent). */
  ensureStream(cfg: Partial<StreamConfig> & { name: string }): Promise<void>;
  close(): Promise<void>;
}

/** How long a command waits for the server before it says it cannot reach it. */
export const CONNECT_TIMEOUT_MS = 3000;
/** How long one JetStream request may take. */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Replicas of the streams and buckets wtm creates: $WTM_NATS_REPLICAS (1 to 5), default 1.
 * A cluster of three servers wants 3 (docs/distributed.md).
 */
export function natsReplicas(): number {
  const n = Number(process.env.WTM_NATS_REPLICAS ?? 1);
  if (!(Number.isInteger(n) && n >= 1 && n <= 5)) throw new Error(`WTM_NATS_REPLICAS=${process.env.WTM_NATS_REPLICAS}: expected 1 to 5`);
  return n;
}

/** True when `s` names a NATS server (nats://...) rather than a directory. */
export function isNatsUrl(s: string): boolean {
  return /^nats:\/\//i.test(s);
}

/** The server address of a nats:// URL as the client takes it; a one-line Error when malformed. */
export function parseNatsUrl(url: string): { server: string; user?: string; pass?: string; label: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`bad NATS URL ${JSON.stringify(url)}: expected nats://HOST:PORT`);
  }
  if (u.protocol !== 'nats:' || u.hostname === '' || (u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') {
    throw new Error(`bad NATS URL ${JSON.stringify(url)}: expected nats://HOST:PORT (no path or query)`);
  }
  const port = u.port === '' ? 4222 : Number(u.port);
  const host = u.hostname.startsWith('[') ? u.hostname : u.hostname;
  return {
    server: `${host}:${port}`,
    ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { pass: decodeURIComponent(u.password) } : {}),
    label: `nats://${host}:${port}`,
  };
}

let shaSet = false;

/** Connects to `url` and checks that JetStream answers; one-line Errors for every failure. */
export async function natsConnect(url: string, name = 'wtm'): Promise<NatsLink> {
  const { server, user, pass, label } = parseNatsUrl(url);
  const { connect } = await import('@nats-io/transport-node');
  const { jetstream, jetstreamManager } = await import('@nats-io/jetstream');
  if (!shaSet) {
    // The object store's digests: Node's crypto instead of the pure-JS default (8x slower).
    const { setSha256Backend } = await import('@nats-io/obj');
    setSha256Backend('native');
    shaSet = true;
  }
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: [server], name, timeout: CONNECT_TIMEOUT_MS, ...(user !== undefined ? { user } : {}), ...(pass !== undefined ? { pass } : {}),
      // Once connected, a server that restarts is waited for (requests time out meanwhile).
      reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250,
    });
  } catch (e) {
    throw new Error(`cannot reach the NATS server at ${label}: ${natsWhy(e)}`);
  }
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: REQUEST_TIMEOUT_MS });
  } catch (e) {
    await nc.close().catch(() => {});
    throw new Error(`the NATS server at ${label} has no JetStream (start it with -js, see docs/distributed.md): ${natsWhy(e)}`);
  }
  const js = jetstream(nc, { timeout: REQUEST_TIMEOUT_MS });
  let closed = false;
  return {
    nc, js, jsm,
    maxPayload: nc.info?.max_payload ?? 1 << 20,
    async ensureStream(given) {
      const cfg = { num_replicas: natsReplicas(), ...given };
      try {
        await jsm.streams.info(cfg.name);
        await jsm.streams.update(cfg.name, cfg);
      } catch (e) {
        if (!/stream not found/i.test((e as Error).message)) throw e;
        try {
          await jsm.streams.add(cfg);
        } catch (e2) {
          // Another process created it meanwhile.
          if (!/already in use|already exists/i.test((e2 as Error).message)) throw e2;
        }
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await nc.close().catch(() => {});
    },
  };
}

/** The reason of a NATS client error, in a few words. */
export function natsWhy(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string } };
  const code = err?.cause?.code ?? err?.code;
  if (code === 'ECONNREFUSED' || /CONNECTION_REFUSED|ECONNREFUSED/.test(err?.message ?? '')) return 'connection refused (is nats-server running?)';
  if (code === 'ENOTFOUND' || /ENOTFOUND/.test(err?.message ?? '')) return 'no such host';
  if (/TIMEOUT/i.test(err?.message ?? '')) return 'timed out';
  return (err?.message ?? String(e)).split('\n')[0]!;
}
