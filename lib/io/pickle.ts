/**
 * A safe reader of Python pickles (protocols 2 to 5), for the files `torch.save` writes.
 *
 * A pickle is a small stack program: opcodes push values, build containers, and (the dangerous
 * part) look up any importable Python name (GLOBAL) and call it (REDUCE). Python's `pickle.load`
 * will import and call whatever a file names, which is how a malicious checkpoint runs code. This
 * reader never runs anything: a name is looked up in a fixed allow-list given by the caller (a
 * few functions written in TypeScript, such as the one that rebuilds a tensor), and any other
 * name is E_FORMAT naming it, at the moment it is read. Objects of arbitrary classes (NEWOBJ,
 * INST, OBJ, and BUILD on anything but a dict) are refused the same way.
 *
 * Python values become: None → null, bool → boolean, int → number (bigint beyond 2^53), float →
 * number, str → string, bytes → Uint8Array, list → array, tuple → a frozen array, set → array,
 * dict → a plain object (keys made strings, as Python's str() writes them: 0 → "0").
 *
 * With `unknown: 'placeholder'` (loadPytorch's `weightsOnly: false`), a name off the allow-list
 * is not refused but kept as a `PythonGlobal` (module and name, nothing imported), and what a
 * file would build from it (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ) becomes an inert
 * `PythonObject` recording the class and the arguments; BUILD records its state. Nothing is
 * called either way.
 */
import { fail } from '../errors';
import { describe } from '../validate';

/** Throws E_FORMAT for this file: `bad('…')`. */
type Bad = (msg: string) => never;

/**
 * What BUILD may set the state of (Python's `obj.__setstate__(state)`): a placeholder, or a value
 * made by an allowed function that takes a state (NumPy's dtype).
 */
export abstract class Settable {
  abstract setState(state: unknown, bad: Bad): void;
}

/** Module and class names are strings (toString and the messages print them). */
function checkNames(op: string, module: unknown, name: unknown): void {
  if (typeof module !== 'string') fail('E_ARG', `${op}: expected \`module\` to be a string, got ${describe(module)}`);
  if (typeof name !== 'string') fail('E_ARG', `${op}: expected \`name\` to be a string, got ${describe(name)}`);
}

/** A Python global (a class or a function) off the allow-list, kept by name: never imported nor called. */
export class PythonGlobal {
  constructor(readonly module: string, readonly name: string) {
    checkNames('PythonGlobal', module, name);
  }
  toString(): string { return `${this.module}.${this.name}`; }
}

/**
 * An object of a Python class off the allow-list, as the pickle describes it, never built: the
 * class's `module` and `name`, the arguments the pickle would call it with (`args`, and `kwargs`
 * for NEWOBJ_EX), and the state BUILD would set (`state`: usually a dict of its attributes, as
 * `vars(obj)`; undefined when none). An argparse.Namespace(lr=0.1) is
 * { module: 'argparse', name: 'Namespace', args: [], state: { lr: 0.1 } }.
 */
export class PythonObject extends Settable {
  state: unknown = undefined;
  constructor(readonly module: string, readonly name: string, public args: readonly unknown[], public kwargs: Record<string, unknown> | null = null) {
    super();
    checkNames('PythonObject', module, name);
    if (!Array.isArray(args)) fail('E_ARG', `PythonObject: expected \`args\` to be an array, got ${describe(args)}`);
    if (kwargs !== null && (typeof kwargs !== 'object' || Array.isArray(kwargs))) fail('E_ARG', `PythonObject: expected \`kwargs\` to be an object or null, got ${describe(kwargs)}`);
  }
  override setState(state: unknown): void { this.state = state; }
  override toString(): string { return `<${this.module}.${this.name} object>`; }
}

/** What a GLOBAL may name: a function REDUCE may call with the pickled arguments, or a plain value. */
export type AllowedGlobal = ((args: readonly unknown[]) => unknown) | { readonly marker: string };

export interface UnpickleOptions {
  /** Allowed names, "module.name" → what the name stands for. */
  globals: ReadonlyMap<string, AllowedGlobal>;
  /** Names off the allow-list: refused (E_FORMAT naming them; the default) or kept as inert placeholders. */
  unknown?: 'refuse' | 'placeholder';
  /** What a persistent id stands for (torch.save uses them for storages); absent: refused. */
  persistentLoad?: (pid: unknown) => unknown;
  bad: Bad;
}

const isDict = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
const isList = (x: unknown): x is unknown[] => Array.isArray(x) && !Object.isFrozen(x);

/**
 * Sets an own, enumerable property: `obj[key] = value` with key "__proto__" would change the
 * object's prototype instead.
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A dict key as Python's str() writes it (state dicts use strings; optimizer states use ints). */
function keyString(key: unknown, bad: Bad): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'bigint') return String(key);
  if (typeof key === 'boolean') return key ? 'True' : 'False';
  if (key === null) return 'None';
  return bad('a dict has a key that is not a string or a number');
}

/** Reads the pickle at `start` in `bytes`; returns its value and where it ended (the byte after STOP). */
export function unpickle(bytes: Uint8Array, start: number, options: UnpickleOptions): { value: unknown; end: number } {
  const { bad, globals } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let at = start;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const need = (n: number): number => {
    if (n < 0 || at + n > bytes.length) bad(`the pickle ends early (at byte ${at}, ${n} more needed): truncated?`);
    const here = at;
    at += n;
    return here;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = (): number => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(bytes.length)) bad(`a length of ${v} bytes runs past the end of the file`);
    return Number(v);
  };
  const take = (n: number) => bytes.subarray(need(n), at);
  const line = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) bad('the pickle ends inside a text line: truncated?');
    const text = latin1.decode(bytes.subarray(at, end));
    at = end + 1;
    return text;
  };
  const text = (n: number): string => {
    try {
      return utf8.decode(take(n));
    } catch {
      return bad('a string is not valid UTF-8');
    }
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) bad('the pickle pops an empty stack');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) bad('the pickle reads an empty stack');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    if (marks.length === 0) bad('the pickle has no MARK to pop to');
    return stack.splice(marks.pop()!);
  };
  const tuple = (items: unknown[]) => Object.freeze(items);
  const int = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const long = (raw: Uint8Array): number | bigint => {
    // Little-endian two's complement of any length.
    let v = 0n;
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i]);
    if (raw.length > 0 && raw[raw.length - 1] & 0x80) v -= 1n << BigInt(8 * raw.length);
    return int(v);
  };
  const placeholders = options.unknown === 'placeholder';
  const lookup = (module: string, name: string): AllowedGlobal | PythonGlobal => {
    const found = globals.get(`${module}.${name}`);
    if (found === undefined && placeholders) return new PythonGlobal(module, name);
    if (found === undefined) {
      bad(`it names the Python global ${module}.${name}, which is not on the allow-list of what a checkpoint of tensors needs (Python would import and call it while loading; to load the file with such objects as inert placeholders, nothing run, pass { weightsOnly: false }; or load it in Python and save a plain state_dict)`);
    }
    return found!;
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!isDict(dict)) bad('SETITEM(S) on something that is not a dict');
    if (items.length % 2) bad('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) setOwn(dict as Record<string, unknown>, keyString(items[i], bad), items[i + 1]);
  };
  const append = (list: unknown, items: unknown[]) => {
    if (!isList(list)) bad('APPEND(S) on something that is not a list');
    (list as unknown[]).push(...items);
  };

  for (;;) {
    const opAt = at;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const protocol = u8();
        if (protocol > 5) bad(`pickle protocol ${protocol} is newer than 5`);
        break;
      }
      case 0x95: u64(); break; // FRAME: a length hint only
      case 0x2e: { // STOP
        if (stack.length !== 1 || marks.length !== 0) bad('the pickle stops with a malformed stack');
        return { value: stack[0], end: at };
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x8a: stack.push(long(take(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = view.getInt32(need(4), true);
        if (n < 0) bad('LONG4 with a negative length');
        stack.push(long(take(n)));
        break;
      }
      case 0x49: { // INT (text; "01" and "00" are True and False)
        const s = line();
        if (s === '01' || s === '00') stack.push(s === '01');
        else if (/^[-+]?\d+$/.test(s)) stack.push(int(BigInt(s)));
        else bad(`INT with text ${JSON.stringify(s)}`);
        break;
      }
      case 0x4c: { // LONG (text)
        const s = line().replace(/L$/, '');
        if (!/^[-+]?\d+$/.test(s)) bad(`LONG with text ${JSON.stringify(s)}`);
        stack.push(int(BigInt(s)));
        break;
      }
      case 0x46: { // FLOAT (text)
        const v = Number(line());
        if (Number.isNaN(v)) bad('FLOAT with text that is not a number');
        stack.push(v);
        break;
      }
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(u64())); break; // BINUNICODE8
      case 0x54: stack.push(latin1.decode(take(u32()))); break; // BINSTRING (Python 2 str)
      case 0x55: stack.push(latin1.decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(new Uint8Array(take(u32()))); break; // BINBYTES
      case 0x43: stack.push(new Uint8Array(take(u8()))); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: stack.push(new Uint8Array(take(u64()))); break; // BINBYTES8, BYTEARRAY8
      case 0x7d: stack.push({}); break; // EMPTY_DICT
      case 0x64: { // DICT
        const d = {};
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: { // SETITEM
        const value = pop(), key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE
      case 0x85: stack.push(tuple([pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop(), a = pop();
        stack.push(tuple([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop(), b = pop(), a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case 0x8f: stack.push([]); break; // EMPTY_SET (a set becomes an array)
      case 0x90: { // ADDITEMS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x91: stack.push(tuple(popMark())); break; // FROZENSET
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line(), name = line();
        stack.push(lookup(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') bad('STACK_GLOBAL with a module or name that is not a string');
        stack.push(lookup(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE: callable(*args)
        const args = pop(), callable = pop();
        if (!Array.isArray(args)) bad('REDUCE with arguments that are not a tuple');
        if (callable instanceof PythonGlobal) {
          stack.push(new PythonObject(callable.module, callable.name, args as unknown[]));
          break;
        }
        if (typeof callable !== 'function') bad('REDUCE calls something that is not an allowed function');
        stack.push((callable as (a: readonly unknown[]) => unknown)(args as unknown[]));
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) bad('the pickle has a persistent id where none is expected');
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x50: { // PERSID (text)
        const pid = line();
        if (!options.persistentLoad) bad('the pickle has a persistent id where none is expected');
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x67: stack.push(memoGet(Number(line()))); break; // GET
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x62: { // BUILD: obj.__setstate__(state)
        // A state dict saved from a Module is an OrderedDict with an attribute, `_metadata` (the
        // layers' versions): Python sets it with BUILD. A dict's attributes are dropped here;
        // BUILD on anything else is an object of a Python class, refused below.
        const state = pop();
        const target = top();
        if (isDict(target) && (isDict(state) || state === null)) break;
        if (target instanceof Settable) {
          target.setState(state, bad);
          break;
        }
        bad(`the pickle sets the state of an object that is not a dict (BUILD at byte ${opAt}), which loadPytorch does not do`);
        break;
      }
      case 0x81: case 0x92: case 0x69: case 0x6f: { // NEWOBJ, NEWOBJ_EX, INST, OBJ: cls.__new__(cls, *args)
        if (!placeholders) {
          bad(`the pickle builds an object of a Python class (opcode ${JSON.stringify(String.fromCharCode(op))} at byte ${opAt}), which loadPytorch does not do`);
        }
        let cls: unknown, args: unknown, kwargs: unknown = null;
        if (op === 0x81) [args, cls] = [pop(), pop()];
        else if (op === 0x92) [kwargs, args, cls] = [pop(), pop(), pop()];
        else if (op === 0x69) {
          const module = line(), name = line();
          args = popMark();
          cls = lookup(module, name);
        } else {
          const items = popMark();
          if (items.length === 0) bad(`OBJ without a class at byte ${opAt}`);
          cls = items[0];
          args = items.slice(1);
        }
        // An allowed name here would be called by Python, not built: none of them is a class.
        if (!(cls instanceof PythonGlobal)) bad(`the pickle builds an object of something that is not a class off the allow-list (byte ${opAt})`);
        if (!Array.isArray(args)) bad(`the pickle builds an object with arguments that are not a tuple (byte ${opAt})`);
        if (kwargs !== null && !isDict(kwargs)) bad(`NEWOBJ_EX with keyword arguments that are not a dict (byte ${opAt})`);
        const g = cls as PythonGlobal;
        stack.push(new PythonObject(g.module, g.name, args as unknown[], kwargs as Record<string, unknown> | null));
        break;
      }
      default:
        bad(`unknown or unsupported pickle opcode 0x${op.toString(16)} at byte ${opAt}`);
    }
  }

  function memoGet(index: number): unknown {
    if (!memo.has(index)) bad(`the pickle reads memo ${index}, which was never stored`);
    return memo.get(index);
  }
}
