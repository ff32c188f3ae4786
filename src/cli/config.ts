import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../runtime/index.js';
import { parseFlags } from './args.js';
import { parseFormat, printData } from './output.js';
import { loadSettings, settingsPath, SETTINGS_TEMPLATE, wtmHome } from './settings.js';
import { mkdirsSync } from '../fs/mkdirs.js';

export const configHelp = `Usage: wtm config [--edit] [--path] [-o text|json|yaml]

Shows wtm's settings: the file they come from ($WTM_HOME/config.yaml, or ~/.wtm/config.yaml)
and what is in effect: the registry directory and the defaults of 'wtm run' flags (timeout,
max-memory, max-tasks, max-tasks-per-tree, max-task-depth, max-fds). A flag given on the
command line wins over the file.

Flags:
  --edit                  open the file in $VISUAL or $EDITOR (vi), made from a commented
                          template if there is none; checked when the editor exits
  --path                  print the file's path only
  -o, --output FORMAT     text (default), json or yaml
  -h, --help              show this help`;

export async function configCommand(argv: readonly string[]): Promise<number> {
  const p = parseFlags(argv, { edit: { value: false }, path: { value: false }, o: { value: true }, output: { value: true }, help: { value: false }, h: { value: false } });
  if (p.flags.has('help') || p.flags.has('h')) {
    process.stdout.write(configHelp + '\n');
    return 0;
  }
  const file = settingsPath();
  if (p.flags.has('path')) {
    process.stdout.write(file + '\n');
    return 0;
  }
  if (p.flags.has('edit')) {
    if (!fs.existsSync(file)) {
      mkdirsSync(path.dirname(file), 0o700);
      fs.writeFileSync(file, SETTINGS_TEMPLATE, { mode: 0o600 });
    }
    const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
    const r = spawnSync(editor, [file], { stdio: 'inherit', shell: /\s/.test(editor) });
    if (r.error) throw new UserError(`cannot start the editor ${editor}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message} (set $EDITOR)`);
    loadSettings(file); // says what is wrong, if anything
    process.stderr.write(`wtm: ${file} is valid\n`);
    return 0;
  }
  const format = parseFormat(p.flags.get('o') ?? p.flags.get('output'));
  const s = loadSettings(file);
  const data = { file, exists: fs.existsSync(file), registry: s.registry ?? wtmHome(), run: s.run ?? {} };
  if (format !== 'text') {
    printData(data, format);
    return 0;
  }
  const run = Object.entries(data.run);
  process.stdout.write([
    `Settings:  ${file}${data.exists ? '' : ' (none: defaults; wtm config --edit makes one)'}`,
    `Registry:  ${data.registry}${s.registry ? '' : ' (default)'}`,
    `Run:       ${run.length ? run.map(([k, v]) => `--${k} ${v}`).join(' ') : '(no defaults set: each flag\'s own)'}`,
  ].join('\n') + '\n');
  return 0;
}
