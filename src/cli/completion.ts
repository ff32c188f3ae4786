import { UsageError } from './args.js';

export const completionHelp = `Usage: wtm completion bash|zsh

Prints a shell completion script for wtm: commands, each command's flags (read from its
--help), image subcommands, and file names where a command takes a file.

  bash:  source <(wtm completion bash)          (or save it under /etc/bash_completion.d/)
  zsh:   source <(wtm completion zsh)           (uses bash completion through bashcompinit)`;

/** The flags a command's help lists in its flag table (`  -o, --output FORMAT  …`), each once. */
export function flagsOf(help: string): string[] {
  const seen = new Set<string>();
  for (const line of help.split('\n')) {
    const m = /^ {2,}(-[^ ]+(?:,? -[^ ,]+)*)/.exec(line);
    if (!m) continue;
    for (const f of m[1]!.split(/,? /)) if (/^--?[a-zA-Z][\w-]*$/.test(f)) seen.add(f);
  }
  return [...seen];
}

function bashScript(helps: Record<string, string>): string {
  const names = Object.keys(helps);
  const cases = names.map((n) => `    ${n}) flags="${flagsOf(helps[n]!).join(' ')}" ;;`).join('\n');
  return `# wtm completion for bash (wtm completion bash)
_wtm() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} flags=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names.join(' ')} --help --version" -- "$cur") $(compgen -f -X '!*.wasm' -- "$cur"))
    return
  fi
  case "$cmd" in
${cases}
  esac
  if [ "$cmd" = image ] && [ "$COMP_CWORD" -eq 2 ]; then
    COMPREPLY=($(compgen -W "import pull ls rm" -- "$cur"))
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _wtm wtm
`;
}

/** `wtm completion bash|zsh`: the script on stdout. */
export function completionCommand(argv: readonly string[], helps: Record<string, string>): number {
  const shell = argv[0];
  if (shell === '--help' || shell === '-h') {
    process.stdout.write(completionHelp + '\n');
    return 0;
  }
  if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`completion needs a shell: bash or zsh${shell ? ` (not ${shell})` : ''}`);
  const script = bashScript(helps);
  process.stdout.write(shell === 'zsh' ? `# wtm completion for zsh (wtm completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${script}` : script);
  return 0;
}
