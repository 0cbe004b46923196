/**
 * Command-line options: `--name value` and `--flag`, checked against what the command declares,
 * so a typo is an error that names it instead of a silently ignored option. A number option may
 * declare `int` and `min`: `--batch 0`, `--batch ''` or `--steps 1.5` are errors naming the option.
 */
export interface OptionSpec {
  /** 'flag' takes no value. */
  type: 'string' | 'number' | 'flag';
  help: string;
  default?: string | number | boolean;
  /** A number option whose value must be an integer. */
  int?: boolean;
  /** A number option's smallest value. */
  min?: number;
  /** Why the minimum, for the error (e.g. batch norm needs 2 images). */
  minReason?: string;
}

export type Parsed = Record<string, string | number | boolean | undefined>;

export function parseArgs(
  command: string,
  args: readonly string[],
  spec: Record<string, OptionSpec>,
): Parsed {
  const out: Parsed = {};
  for (const [name, s] of Object.entries(spec))
    out[name] = s.default ?? (s.type === 'flag' ? false : undefined);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--'))
      throw new Error(
        `synface ${command}: unexpected argument '${arg}' (options start with --; see synface ${command} --help)`,
      );
    const name = arg.slice(2);
    const s = spec[name];
    if (!s)
      throw new Error(
        `synface ${command}: unknown option --${name} (known: ${Object.keys(spec)
          .map((k) => '--' + k)
          .join(' ')})`,
      );
    if (s.type === 'flag') {
      out[name] = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined) throw new Error(`synface ${command}: --${name} needs a value`);
    if (s.type === 'number') out[name] = parseNumber(command, name, value, s);
    else out[name] = value;
  }
  return out;
}

/** A number option's value, checked against its spec (`''` is not 0: Number('') would be). */
function parseNumber(command: string, name: string, value: string, s: OptionSpec): number {
  const kind = s.int ? 'an integer' : 'a number';
  const wanted = `${kind}${s.min !== undefined ? ` >= ${s.min}` : ''}${s.minReason ? ` (${s.minReason})` : ''}`;
  const v = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(v) || (s.int && !Number.isInteger(v)) || (s.min !== undefined && v < s.min))
    throw new Error(`synface ${command}: --${name} needs ${wanted}, got '${value}'`);
  return v;
}

export function usage(command: string, summary: string, spec: Record<string, OptionSpec>): string {
  const lines = Object.entries(spec).map(
    ([n, s]) =>
      `  --${n}${s.type === 'flag' ? '' : ` <${s.type}>`}`.padEnd(28) +
      s.help +
      (s.default !== undefined && s.type !== 'flag' ? ` (default ${s.default})` : ''),
  );
  return [`usage: synface ${command} [options]`, summary, '', ...lines].join('\n');
}
