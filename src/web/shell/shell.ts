/**
 * The browser's `skiff` shell: one command line in, Docker-style output and an exit status out.
 * The commands are the CLI's (cli/commands/table.ts: the same names, flags, help and output);
 * this adds shell words, the `clear` builtin and completion. Accepts lines with or without the
 * leading `skiff` ("images", "skiff ps -a", "image ls").
 */
import { CommandTable } from '../../cli/commands/table.ts';
import { displayText } from '../../cli/present/escape.ts';
import type { ShellContext } from './context.ts';
import { browserContext } from './host.ts';
import { splitWords } from './words.ts';

export class Shell {
  readonly table: CommandTable;

  constructor(readonly ctx: ShellContext, table = new CommandTable(), readonly onClear: () => void = () => {}) {
    this.table = table;
  }

  /** Command names, for help and completion. */
  names(): string[] {
    return [...this.table.names(), 'clear', 'help', 'version'].sort();
  }

  /** Completions of the command word(s) being typed ("ima" -> images, image ...; "image l" -> ls). */
  complete(before: string): string[] {
    const words = before.replace(/^\s*skiff\s+/, '').split(/\s+/);
    if (words.length > 2) return [];
    const typed = words.join(' ');
    const hits = new Set<string>();
    for (const n of this.names()) {
      if (!n.startsWith(typed)) continue;
      // Complete one word at a time: "image" before "image ls".
      hits.add(n.split(' ').slice(0, words.length).join(' '));
    }
    return [...hits].map((h) => h.split(' ')[words.length - 1]!).filter((w, i, a) => a.indexOf(w) === i).sort();
  }

  /** Runs one line; never throws: errors are printed and become the status. */
  async execute(line: string): Promise<number> {
    let words: string[];
    try {
      words = splitWords(line);
    } catch (err) {
      this.ctx.stderr(`skiff: ${displayText((err as Error).message)}\n`);
      return 2;
    }
    if (words[0] === 'skiff') words.shift();
    if (words.length === 0) return 0;
    if (words[0] === 'clear') { this.onClear(); return 0; }
    const status = await this.table.execute(words, browserContext(this.ctx));
    this.ctx.progressDone();
    return status;
  }

  /** Archives dropped on the page: `load` without asking for a file. */
  loadFiles(files: File[]): Promise<number> {
    return this.table.execute(['load'], browserContext(this.ctx, { files: [...files] }));
  }
}
