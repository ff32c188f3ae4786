import path from 'node:path';
import { importImage, listImages, pullImage, readImageSources, removeImage, tagImage } from '../oci/index.js';
import { parseFlags, UsageError, type Parsed } from './args.js';
import { formatBytes, parseFormat, printData, printTable } from './output.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';
import { registryLocalDir } from './settings.js';

export const imageHelp = `Usage: wtm image import PATH[:TAG] | pull REF [--insecure] | tag SOURCE NAME | ls [-q] [-o text|json|yaml] | rm NAME...

Manages OCI images in the registry. Names follow Docker's rules: a name without a tag means
:latest, and x, x:latest, library/x and docker.io/library/x are one name. An image can have
several names (as Docker's tags); a name belongs to one image at a time.
  import PATH[:TAG]
                an OCI image layout directory, an OCI archive (tar) or a 'docker save' archive.
                With :TAG the image tagged so; without, every tagged image of it (when they
                all run as wasm). A bare tag v1 (as skopeo and umoci write it) names the image
                DIR:v1 after the layout's directory (or archive file, without its extension).
                Every blob is checked against its digest (a mismatch keeps nothing); each
                layer is unpacked once, with hostile entries refused, and shared by every
                process that runs the image.
  pull REF      from a registry speaking the OCI distribution API (anonymous or bearer
                token), e.g. ghcr.io/org/app:1 or 127.0.0.1:5000/app@sha256:...; a progress
                bar on a terminal. --insecure allows plain HTTP to a registry on loopback.
  tag SOURCE NAME
                adds NAME to the image SOURCE (a name or a digest prefix)
  ls            the images, one row per name: name, manifest digest, layers, size, entry point
  rm NAME...    removes a name; the image itself goes (with the blobs and unpacked layers only
                it used; those other images share stay) when it has no name left, or when
                NAME is a unique prefix of its digest. Processes that ran it still replay
                (their module is kept with them)

Flags:
  --name NAME             import, pull: store the image under NAME instead of the name the
                          source gives it (names it already had stay)
  --insecure              pull over plain HTTP (loopback registries only)
  -q, --quiet             ls: the names only, one a line
  -o, --output FORMAT     text (default), json or yaml
${registryHelp}`;

/** Where unpacked layers live: beside the registry. */
export function layersDir(p: Parsed): string {
  return path.join(registryLocalDir(p), 'layers');
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
      if (!arg) throw new UsageError('import needs a PATH');
      if (p.positionals.length > 2) throw new UsageError('import takes one PATH[:TAG]');
      const name = p.flags.get('name')?.[0];
      const images = await readImageSources(arg);
      if (name !== undefined && images.length > 1) {
        throw new UsageError(`--name names one image, and ${arg} holds ${images.length} (${images.map((i) => i.names.join(', ')).join('; ')}): pick one with ${arg}:TAG`);
      }
      let out = '';
      for (const image of images) {
        const rec = await importImage(registry, image, layersDir(p), name);
        // One line per name it was given here (a source with no tag gives none: <none>).
        const given = name !== undefined ? [rec.name] : image.names.length ? image.names : ['<none>'];
        out += given.map((n) => `${n} ${rec.manifestDigest}\n`).join('');
      }
      process.stdout.write(out);
      return 0;
    }
    case 'pull': {
      if (!arg) throw new UsageError('pull needs a REF (e.g. 127.0.0.1:5000/hello:1)');
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
    case 'tag': {
      const newName = p.positionals[2];
      if (!arg || !newName || p.positionals.length > 3) throw new UsageError('tag needs a SOURCE image and a new NAME');
      const rec = await tagImage(registry, arg, newName);
      process.stdout.write(`${rec.name} ${rec.manifestDigest}\n`);
      return 0;
    }
    case 'ls': case 'list': {
      const format = parseFormat(p.flags.get('o') ?? p.flags.get('output'));
      const list = await listImages(registry);
      if (p.flags.has('q') || p.flags.has('quiet')) {
        process.stdout.write(list.flatMap((r) => (r.names.length ? r.names : [r.manifestDigest.slice(0, 19)]).map((n) => `${n}\n`)).join(''));
        return 0;
      }
      if (format !== 'text') {
        printData(list, format);
        return 0;
      }
      const rows = list.flatMap((r) => (r.names.length ? [...r.names].sort() : ['<none>']).map((name) => ({ name, r })))
        .sort((a, b) => (a.name === '<none>' ? 1 : 0) - (b.name === '<none>' ? 1 : 0) || a.name.localeCompare(b.name));
      printTable(['NAME', 'DIGEST', 'LAYERS', 'SIZE', 'ENTRYPOINT'], rows.map(({ name, r }) => [
        name, r.manifestDigest.slice(0, 19), String(r.layers.length), formatBytes(r.layers.reduce((a, l) => a + l.size, 0)),
        [...(r.config.config?.Entrypoint ?? []), ...(r.config.config?.Cmd ?? [])].join(' ') || '-',
      ]));
      return 0;
    }
    case 'rm': case 'remove': {
      if (!arg) throw new UsageError('rm needs a NAME');
      for (const ref of p.positionals.slice(1)) {
        const { image: r, untagged, removed, freed, shared } = await removeImage(registry, ref, layersDir(p));
        const what = untagged.length ? `untagged ${untagged.join(', ')}` : '';
        process.stdout.write(`${untagged.join(', ') || '<none>'} ${r.manifestDigest}\n`);
        if (!removed) {
          process.stdout.write(`${what}; the image keeps the name${r.names.length === 1 ? '' : 's'} ${r.names.join(', ')}\n`);
          continue;
        }
        process.stdout.write(`${what ? what + ', ' : ''}removed image ${r.manifestDigest}: freed ${freed.blobs} blob${freed.blobs === 1 ? '' : 's'} (${formatBytes(freed.blobBytes)}) and ${freed.layers} unpacked layer${freed.layers === 1 ? '' : 's'} (${formatBytes(freed.layerBytes)})`
          + `${shared > 0 ? `; kept ${shared} shared with other images` : ''}\n`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown image command '${verb}' (import, pull, tag, ls, rm)`);
  }
}
