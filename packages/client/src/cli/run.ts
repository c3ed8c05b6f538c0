/**
 * The CLI's dispatcher: finds the command in the arguments, checks its options with
 * `node:util` parseArgs (strict: unknown options and missing values are usage errors), prints
 * help, runs it, and turns whatever it throws into one clear line on stderr and an exit code.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { redactUrl } from '../base-url.js';
import { MaasClient } from '../client.js';
import { UsageError, Interrupted, type Command, type Context, type OptionSpec } from './command.js';
import { batchCancel, batchGet, batchList, batchResults, batchSubmit, batchWait } from './commands/batch.js';
import { infer } from './commands/infer.js';
import { jobsCancel, jobsCreate, jobsGet } from './commands/jobs.js';
import { models } from './commands/models.js';
import { describeError, EXIT_USAGE } from './errors.js';
import type { Io } from './io.js';


/**
 * The CLI rides out a 503 or 429 with up to 30 retries (the SDK's default gives up after two,
 * ~2.6 s): a batch upload or a wait across a Redis restart, or a queue full for a while, is what
 * a command-line run should wait through. Each wait is the server's Retry-After (1 s for the
 * API's 503s: about half a minute in all; one over 5 s is the error), or a backoff of 0.5 s
 * doubling to 5 s; a Ctrl-C stops it.
 */
export const CLI_RETRY = { maxRetries: 30, maxDelayMs: 5000 } as const;

export const COMMANDS: Command[] = [models, infer, jobsCreate, jobsGet, jobsCancel, batchSubmit, batchWait, batchGet, batchList, batchResults, batchCancel];
const GROUPS: Record<string, string> = { jobs: 'asynchronous jobs', batch: 'NDJSON batches' };

export const DEFAULT_URL = 'http://127.0.0.1:8080';

const GLOBAL: Record<string, OptionSpec> = {
  url: { type: 'string', value: 'URL', help: `API base URL (default: $MAAS_URL, else ${DEFAULT_URL})` },
  'api-key': { type: 'string', value: 'KEY', help: 'API key (default: $MAAS_API_KEY)' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

/**
 * Options of `maas` alone, before any command: not in a command's help, and unknown to every
 * command (a command's own `--version V`, the model version, is another option of the name).
 */
const ROOT: Record<string, OptionSpec> = {
  version: { type: 'boolean', help: "print this client's version" },
};

type ParseOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function parseOptions(specs: Record<string, OptionSpec>): ParseOptions {
  return Object.fromEntries(
    Object.entries(specs).map(([name, s]) => [name, { type: s.type, ...(s.short ? { short: s.short } : {}), ...(s.multiple ? { multiple: true } : {}) }]),
  );
}

/** Runs one invocation; resolves to the exit code. Never throws. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  let url = io.env['MAAS_URL'] || DEFAULT_URL;
  let commandName: string | undefined;
  try {
    // Pass 1, lenient, knowing every option: which words are the command (option values are not).
    // A command's option of a root option's name wins: `--version V` takes its value here.
    const union: Record<string, OptionSpec> = { ...GLOBAL, ...ROOT };
    for (const c of COMMANDS) Object.assign(union, c.options);
    const pre = parseArgs({ args: argv, options: parseOptions(union), strict: false, allowPositionals: true, tokens: true });
    const unknown = pre.tokens?.find((t) => t.kind === 'option' && !(t.name in union));
    const help = pre.values['help'] === true;
    const [first, second] = pre.positionals;
    if (unknown?.kind === 'option') {
      // An unknown option's value may have been taken for a command word: report the option.
      const guess = COMMANDS.find((c) => c.name === first || c.name === `${first} ${second}`);
      throw new UsageError(`unknown option ${unknown.rawName}`, guess?.name);
    }

    // `maas --version` alone; after a command word it is that command's option, or unknown to it.
    if (first === undefined && pre.values['version'] === true) {
      io.stdout.write(`${clientVersion()}\n`);
      return 0;
    }
    if (first === undefined) {
      (help ? io.stdout : io.stderr).write(rootHelp());
      return help ? 0 : EXIT_USAGE;
    }
    let command: Command | undefined;
    if (first in GROUPS) {
      command = COMMANDS.find((c) => c.name === `${first} ${second}`);
      if (!command) {
        if (help && second === undefined) {
          io.stdout.write(groupHelp(first));
          return 0;
        }
        throw new UsageError(second === undefined ? `"maas ${first}" needs a command: ${subcommands(first)}` : `unknown command "${first} ${second}" (try: ${subcommands(first)})`);
      }
    } else {
      command = COMMANDS.find((c) => c.name === first);
      if (!command) throw new UsageError(`unknown command "${first}"`);
    }
    commandName = command.name;
    if (help) {
      io.stdout.write(commandHelp(command));
      return 0;
    }

    // Pass 2, strict, with this command's options only.
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: parseOptions({ ...GLOBAL, ...command.options }), strict: true, allowPositionals: true });
    } catch (err) {
      throw new UsageError((err as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, ''), command.name);
    }
    const args = parsed.positionals.slice(command.name.split(' ').length);
    const min = command.args?.min ?? 0;
    const max = command.args?.max ?? min;
    if (args.length < min) throw new UsageError(`missing argument: maas ${command.name} ${command.usage}`, command.name);
    if (args.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(args[max])}`, command.name);

    const values = parsed.values as Context['opts'];
    const fromFlag = typeof values['url'] === 'string';
    url = fromFlag ? (values['url'] as string) : url;
    // Named as the user gave it: the flag, or MAAS_URL (the default needs no naming: it is valid).
    const source = fromFlag ? '--url' : 'MAAS_URL';
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`${source} must be an http(s) URL, not ${JSON.stringify(redactUrl(url))}`, command.name);
    const apiKey = typeof values['api-key'] === 'string' ? values['api-key'] : io.env['MAAS_API_KEY'] || undefined;
    let client: MaasClient | undefined;
    const ctx: Context = {
      args,
      opts: values,
      io,
      url,
      client: () => (client ??= new MaasClient({ baseUrl: url, apiKey, fetch: io.fetch, retry: CLI_RETRY })),
    };
    return (await command.run(ctx)) ?? 0;
  } catch (err) {
    // A Ctrl-C that surfaced as some other error (an aborted request) still reads as one.
    const cause = io.signal.aborted && !(err instanceof Interrupted) ? new Interrupted('stopped') : err;
    const { message, code } = describeError(cause, redactUrl(url), commandName);
    io.stderr.write(`${message}\n`);
    if (io.env['MAAS_DEBUG'] && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return code;
  }
}

function subcommands(group: string): string {
  return COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.name.split(' ')[1]).join(', ');
}

function optionLines(specs: Record<string, OptionSpec>): string {
  const rows = Object.entries(specs).map(([name, s]) => [`${s.short ? `-${s.short}, ` : ''}--${name}${s.value ? ` ${s.value}` : ''}${s.multiple ? ' ...' : ''}`, s.help]);
  const width = Math.max(...rows.map(([flagText]) => flagText!.length));
  return rows.map(([flagText, text]) => `  ${flagText!.padEnd(width)}  ${text}`).join('\n');
}

const FOOTER = 'Exit codes: 0 ok, 1 the API refused or the work failed, 2 usage error, 130 interrupted.\n';

export function rootHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'maas: command line of the maas inference cluster',
    '',
    'Usage: maas <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    optionLines({ ...GLOBAL, ...ROOT }),
    '',
    'Run "maas <command> --help" for its options. JSON goes to stdout, messages to stderr.',
    FOOTER,
  ].join('\n');
}

function groupHelp(group: string): string {
  const cmds = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  const width = Math.max(...cmds.map((c) => c.name.length));
  return [`maas ${group}: ${GROUPS[group]}`, '', 'Commands:', ...cmds.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), ''].join('\n');
}

export function commandHelp(c: Command): string {
  return [
    `Usage: maas ${c.name} ${c.usage}`.trimEnd(),
    '',
    `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`,
    '',
    ...(c.options && Object.keys(c.options).length ? ['Options:', optionLines(c.options), ''] : []),
    'Global options:',
    optionLines(GLOBAL),
    '',
    ...(c.details ? [c.details, ''] : []),
    FOOTER,
  ].join('\n');
}

/** The package's version (its package.json: two folders up from dist/cli/ and from src/cli/). */
function clientVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}
