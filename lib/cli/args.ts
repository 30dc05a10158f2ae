/** A small argument parser for the CLI: `--name value`, `--name=value`, flags, positionals. */

export class UsageError extends Error {}

export interface OptionSpec {
  /** 'int' | 'number' | 'string' | 'flag', or a list of allowed strings. */
  type: 'int' | 'number' | 'string' | 'flag' | readonly string[];
  min?: number;
}

export interface Parsed {
  positionals: string[];
  options: Record<string, string | number | boolean>;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Parses argv against `spec` (keys are option names without dashes); throws UsageError. */
export function parseArgs(argv: string[], spec: Record<string, OptionSpec>): Parsed {
  const positionals: string[] = [];
  const options: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    // Own keys only: `--constructor` or `--toString` found Object.prototype's and passed.
    const s = Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined;
    if (!s) throw new UsageError(`unknown option --${name}`);
    if (s.type === 'flag') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      options[name] = true;
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || raw === '') throw new UsageError(`--${name} needs a value`);
    if (Array.isArray(s.type)) {
      if (!s.type.includes(raw)) throw new UsageError(`--${name} must be one of ${s.type.join(', ')}, got "${raw}"`);
      options[name] = raw;
    } else if (s.type === 'int' || s.type === 'number') {
      // Decimal only: Number() also takes ' ' (0), '0x10' and '0b1'.
      const v = DECIMAL.test(raw) ? Number(raw) : NaN;
      if (!Number.isFinite(v) || (s.type === 'int' && !Number.isSafeInteger(v))) throw new UsageError(`--${name} must be ${s.type === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
      if (s.min !== undefined && v < s.min) throw new UsageError(`--${name} must be >= ${s.min}, got ${v}`);
      options[name] = v;
    } else {
      options[name] = raw;
    }
  }
  return { positionals, options };
}
