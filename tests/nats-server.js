// Starts a real nats-server (Debian's, with JetStream) for a test: 127.0.0.1, a free port, a
// temporary store directory; stopped by its pid. Without nats-server the tests skip, saying why.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const natsMissing = spawnSync('sh', ['-c', 'command -v nats-server']).status !== 0
  ? 'needs nats-server (apt-get install nats-server)' : false;

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** A running nats-server: { url, port, dir, pid, stop(), restart() }. */
export async function startNats() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wtm-nats-'));
  const port = await freePort();
  const server = { url: `nats://127.0.0.1:${port}`, port, dir, proc: null, get pid() { return this.proc?.pid; } };
  server.start = async () => {
    server.proc = spawn('nats-server', ['-js', '-sd', path.join(dir, 'store'), '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    // A test file that ends without stopping it (a timeout skips `after` hooks) leaves no server behind.
    const pid = server.proc.pid;
    process.once('exit', () => {
      try {
        process.kill(pid);
      } catch {
        // gone already
      }
    });
    for (let i = 0; i < 200; i++) {
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('nats-server did not start');
  };
  server.halt = async (signal = 'SIGTERM') => {
    const p = server.proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    process.kill(p.pid, signal);
    await gone;
  };
  server.restart = async (signal = 'SIGTERM') => {
    await server.halt(signal);
    await server.start();
  };
  server.stop = async () => {
    await server.halt();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  await server.start();
  return server;
}
