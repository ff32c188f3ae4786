import os from 'node:os';
import path from 'node:path';
import { importImage, listImages, readImageSource, removeImage } from '../oci/index.js';
import { parseFlags, UsageError, type Parsed } from './args.js';
import { formatBytes, parseFormat, printData, printTable } from './output.js';
import { openRegistry, registryFlag, registryHelp } from './registry.js';

export const imageHelp = `Usage: wtm image import PATH [--name NAME] | ls [-o text|json|yaml] | rm NAME

Manages OCI images in the registry.
  import PATH   an OCI image layout directory, an OCI archive (tar) or a 'docker save' archive.
                Every blob is checked against its digest (a mismatch keeps nothing); each
                layer is unpacked once, with hostile entries refused, and shared by every
                process that runs the image.
  ls            the images: name, manifest digest, layers, size, entry point
  rm NAME       removes an image (by name or a unique prefix of its digest); shared blobs
                and unpacked layers stay

Flags:
  --name NAME             the name to store an imported image under (default: the name the
                          source gives it)
  -o, --output FORMAT     text (default), json or yaml
${registryHelp}`;

/** Where unpacked layers live: beside the registry. */
export function layersDir(p: Parsed): string {
  const reg = p.flags.get('registry')?.[0];
  return path.join(reg ? path.resolve(reg) : process.env.WTM_HOME || path.join(os.homedir(), '.wtm'), 'layers');
}

export async function imageCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, { ...registryFlag, name: { value: true }, o: { value: true }, output: { value: true }, help: { value: false }, h: { value: false } });
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
    case 'ls': case 'list': {
      const format = parseFormat(p.flags.get('o') ?? p.flags.get('output'));
      const list = await listImages(registry);
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
      const r = await removeImage(registry, arg);
      process.stdout.write(`${r.name} ${r.manifestDigest}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown image command '${verb}' (import, ls, rm)`);
  }
}
