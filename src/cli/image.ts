import path from 'node:path';
import { importImage, listImages, pullImage, readImageSource, removeImage } from '../oci/index.js';
import { parseFlags, UsageError, type Parsed } from './args.js';
import { formatBytes, parseFormat, printData, printTable } from './output.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';
import { registryDir } from './settings.js';

export const imageHelp = `Usage: wtm image import PATH | pull REF [--insecure] | ls [-q] [-o text|json|yaml] | rm NAME

Manages OCI images in the registry.
  import PATH   an OCI image layout directory, an OCI archive (tar) or a 'docker save' archive.
                Every blob is checked against its digest (a mismatch keeps nothing); each
                layer is unpacked once, with hostile entries refused, and shared by every
                process that runs the image.
  pull REF      from a registry speaking the OCI distribution API (anonymous or bearer
                token), e.g. ghcr.io/org/app:1 or 127.0.0.1:5000/app@sha256:...; a progress
                bar on a terminal. --insecure allows plain HTTP to a registry on loopback.
  ls            the images: name, manifest digest, layers, size, entry point
  rm NAME       removes an image (by name or a unique prefix of its digest) and frees the
                blobs and unpacked layers only it used (those other images share stay);
                processes that ran it still replay (their module is kept with them)

Flags:
  --name NAME             the name to store an imported or pulled image under (default:
                          the name the source gives it)
  --insecure              pull over plain HTTP (loopback registries only)
  -q, --quiet             ls: the names only, one a line
  -o, --output FORMAT     text (default), json or yaml
${registryHelp}`;

/** Where unpacked layers live: beside the registry. */
export function layersDir(p: Parsed): string {
  return path.join(path.resolve(registryDir(p)), 'layers');
}

export async function imageCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, { ...registryFlag, name: { value: true }, insecure: { value: false }, q: { value: false }, quiet: { value: false }, o: { value: true }, output: { value: true }, help: { value: false }, h: { value: false } });
  if (p.flags.has('help') || p.flags.has('h') || p.positionals.length === 0) {
    process.stdout.write(imageHelp + '\n');
    return p.positionals.length === 0 && !p.flags.has('help') && !p.flags.has('h') ? 2 : 0;
  }
  const [verb, arg] = p.positionals;
  const registry = await openRegistry(p);
  switch (verb) {
    case 'import': {
      if (!arg) throw new UsageError('wtm image import needs a PATH');
      const image = await readImageSource(arg);
      const rec = await importImage(registry, image, layersDir(p), p.flags.get('name')?.[0]);
      process.stdout.write(`${rec.name} ${rec.manifestDigest}\n`);
      return 0;
    }
    case 'pull': {
      if (!arg) throw new UsageError('wtm image pull needs a REF (e.g. 127.0.0.1:5000/hello:1)');
      const tty = process.stderr.isTTY;
      let last = 0;
      const image = await pullImage(arg, {
        insecure: p.flags.has('insecure'),
        onProgress: tty ? (what, done, total) => {
          const now = Date.now();
          if (now - last < 100 && done < total) return;
          last = now;
          const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
          const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.');
          process.stderr.write(`\r${what.padEnd(14)} [${bar}] ${formatBytes(done)}${total ? ' / ' + formatBytes(total) : ''}   `);
        } : undefined,
      });
      if (tty) process.stderr.write('\n');
      const rec = await importImage(registry, image, layersDir(p), p.flags.get('name')?.[0]);
      process.stdout.write(`${rec.name} ${rec.manifestDigest}\n`);
      return 0;
    }
    case 'ls': case 'list': {
      const format = parseFormat(p.flags.get('o') ?? p.flags.get('output'));
      const list = await listImages(registry);
      if (p.flags.has('q') || p.flags.has('quiet')) {
        process.stdout.write(list.map((r) => `${r.name}\n`).join(''));
        return 0;
      }
      if (format !== 'text') {
        printData(list, format);
        return 0;
      }
      printTable(['NAME', 'DIGEST', 'LAYERS', 'SIZE', 'ENTRYPOINT'], list.map((r) => [
        r.name, r.manifestDigest.slice(0, 19), String(r.layers.length), formatBytes(r.layers.reduce((a, l) => a + l.size, 0)),
        [...(r.config.config?.Entrypoint ?? []), ...(r.config.config?.Cmd ?? [])].join(' ') || '-',
      ]));
      return 0;
    }
    case 'rm': case 'remove': {
      if (!arg) throw new UsageError('wtm image rm needs a NAME');
      const { image: r, freed, shared } = await removeImage(registry, arg, layersDir(p));
      process.stdout.write(`${r.name} ${r.manifestDigest}\n`);
      process.stdout.write(`freed ${freed.blobs} blob${freed.blobs === 1 ? '' : 's'} (${formatBytes(freed.blobBytes)}) and ${freed.layers} unpacked layer${freed.layers === 1 ? '' : 's'} (${formatBytes(freed.layerBytes)})`
        + `${shared > 0 ? `; kept ${shared} shared with other images` : ''}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown image command '${verb}' (import, pull, ls, rm)`);
  }
}
