/**
 * The `iocbus` command: one entry point for every role and tool. Each subcommand lives in commands/ and
 * owns its --help text; this file only dispatches and turns errors into exit codes
 * (2 usage, 1 failure; commands return their own codes otherwise).
 */
import { isIocError } from '@iocbus/errors';
import { COMMANDS } from './commands/index.js';
import { UsageError } from './util/args.js';
import { wantsHelp } from './util/command.js';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: iocbus <command> [options]

iocbus: the event bus of a provincial Intelligent Operations Center (IOC).

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "iocbus <command> --help" for a command's options.`;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const STDIO: Io = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

/** Runs one command line; `io` receives what main itself prints (help, usage errors, failures). */
export async function main(argv: readonly string[], io: Io = STDIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.out(`${topic?.usage ?? overview()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.err(`iocbus: unknown command "${name}"\n\n${overview()}\n`);
    return 2;
  }
  if (wantsHelp(rest)) {
    io.out(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`iocbus ${command.name}: ${err.message}\nRun "iocbus ${command.name} --help" for usage.\n`);
      return 2;
    }
    const message = isIocError(err) ? `${err.message} [${err.code}]` : err instanceof Error ? (err.stack ?? err.message) : String(err);
    io.err(`iocbus ${command.name}: ${message}\n`);
    return 1;
  }
}

// Run only as the program, not when a test imports main().
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/services/cli/src/main.ts')) {
  const code = await main(process.argv.slice(2));
  // Long-running commands (start, watch, roles) resolve only when they are done; exit then, even if a
  // library left a handle open.
  process.exit(code);
}
