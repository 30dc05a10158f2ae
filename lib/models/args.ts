/** Argument checks shared by the model constructors (each message names the model and the option). */
import { fail } from '../errors';
import { describe } from '../validate';

/** v, when it is a positive safe integer; else E_ARG naming `name`. */
export function positiveInt(op: string, name: string, v: unknown): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) fail('E_ARG', `${op}: expected \`${name}\` to be a positive integer, got ${describe(v)}`);
  return v as number;
}

/** v (or `dflt` when undefined), when it is a boolean; else E_ARG. */
export function bool(op: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') fail('E_ARG', `${op}: expected \`${name}\` to be a boolean, got ${describe(v)}`);
  return v as boolean;
}

/** v, when it is a number in [0, 1] (a dropout probability); else E_ARG. */
export function probability(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail('E_ARG', `${op}: expected \`${name}\` to be a number in [0, 1], got ${describe(v)}`);
  return v as number;
}
