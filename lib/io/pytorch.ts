/**
 * PyTorch checkpoints (`torch.save` files) read directly, without Python.
 *
 * Since PyTorch 1.6 `torch.save` writes a zip archive (entries stored uncompressed):
 *
 *   <name>/data.pkl      the saved object as a pickle; each tensor in it is a call of
 *                        torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …) whose
 *                        storage is a persistent id ('storage', torch.FloatStorage, key, location, numel)
 *   <name>/data/<key>    each storage's bytes, in the byte order of <name>/byteorder (little if absent)
 *   <name>/version       the format's version
 *
 * Before 1.6 (and with `_use_new_zipfile_serialization=False`) it wrote the legacy format: five
 * pickles one after another (a magic number, a protocol version, the machine's byte order and
 * type sizes, the object, the sorted storage keys), then each storage as an int64 element count
 * and its bytes. Both are read here.
 *
 * The pickle is read by `pickle.ts`, which runs nothing: only the names a checkpoint of tensors
 * and plain containers needs are allowed (see GLOBALS), anything else is E_FORMAT naming it,
 * which is what `torch.load(weights_only=True)` guards against in Python.
 */
import * as os from 'os';
import { fail } from '../errors';
import { tensor } from '../creation';
import { requireCuda } from '../cuda';
import { parseDevice } from '../ops';
import type { Device, Tensor } from '../tensor';
import { checkOptions, describe } from '../validate';
import { sourceBytes } from './file';
import { PythonObject, Settable, setOwn, unpickle, type AllowedGlobal } from './pickle';
import { looksLikeZip, readZipDirectory, readZipEntry } from './zip';

export interface LoadPytorchOptions {
  /**
   * false (default): every tensor in the checkpoint by its dotted path (`conv1.weight`, or
   * `model_state_dict.conv1.weight` for a checkpoint dict holding a state dict; list items by
   * index), other values (epoch numbers, strings) left out. true: the saved object itself, dicts
   * as plain objects, lists and tuples as arrays, with tensors in place, so that a part of it
   * can be picked (`ckpt.model_state_dict`).
   */
  structure?: boolean;
  /**
   * Convert float64, float16 and bfloat16 to float32 and int64, int16, int8, uint8 and bool to
   * int32 (default true; an int64 value outside int32's range is E_RANGE). With false only
   * float32 and int32 tensors load, and any other is E_DTYPE naming it.
   */
  convert?: boolean;
  /** Where to put the tensors: 'cpu' (default) or 'cuda'. */
  device?: Device | string;
  /**
   * true (default): only what a checkpoint of tensors and plain containers needs loads, and a
   * file naming any other Python class or function is E_FORMAT naming it, as
   * `torch.load(weights_only=True)`. false: a whole training checkpoint loads
   * (`{ model, optimizer, args: argparse.Namespace(...), epoch, best_acc1: numpy.float64(...) }`):
   * NumPy scalars become numbers (bigint for an int64 beyond 2^53, boolean for numpy.bool_),
   * and objects of any other class become inert `PythonObject` placeholders (`module`, `name`,
   * the constructor's `args`, the attributes in `state`; see io/pickle.ts), other names
   * `PythonGlobal`s. Named after torch.load's `weights_only` because that is the switch a
   * PyTorch user reaches for when such a file is refused; unlike PyTorch's false, nothing in the
   * file is ever imported or run, so it is safe on untrusted files too (a malicious payload
   * becomes a placeholder naming, say, posix.system). Tensors inside placeholders load only
   * with `structure: true` (in their `args` and `state`); the flat form skips placeholders.
   */
  weightsOnly?: boolean;
}

/** A PyTorch dtype as its storage class names it, and its bytes per element. */
interface TorchDtype { name: string; size: number; kind: 'float' | 'int' }

const STORAGE_DTYPES: Record<string, TorchDtype> = {
  FloatStorage: { name: 'float32', size: 4, kind: 'float' },
  DoubleStorage: { name: 'float64', size: 8, kind: 'float' },
  HalfStorage: { name: 'float16', size: 2, kind: 'float' },
  BFloat16Storage: { name: 'bfloat16', size: 2, kind: 'float' },
  LongStorage: { name: 'int64', size: 8, kind: 'int' },
  IntStorage: { name: 'int32', size: 4, kind: 'int' },
  ShortStorage: { name: 'int16', size: 2, kind: 'int' },
  CharStorage: { name: 'int8', size: 1, kind: 'int' },
  ByteStorage: { name: 'uint8', size: 1, kind: 'int' },
  BoolStorage: { name: 'bool', size: 1, kind: 'int' },
};

/** A storage class named in the pickle (`torch.FloatStorage`). */
interface StorageType { readonly marker: string; readonly dtype: TorchDtype }

/** A storage: its bytes come from the zip entry or the legacy file's tail. */
class Storage {
  bytes: Uint8Array | null = null;
  constructor(readonly key: string, readonly dtype: TorchDtype, readonly numel: number) {}
}

/** A tensor as the pickle describes it; made into a Tensor once the whole pickle has been read. */
class TensorRef {
  constructor(readonly storage: Storage, readonly offset: number, readonly size: readonly number[], readonly stride: readonly number[]) {}
}

const isDict = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;

/** The legacy format's first pickle. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/**
 * Reads a PyTorch checkpoint written by `torch.save` (a path, or its bytes): the zip format of
 * PyTorch >= 1.6 and the legacy format before it. Returns every tensor by its dotted path, or
 * with `{ structure: true }` the saved object with tensors in place. Offsets, strides and
 * storages shared between tensors are honoured (each tensor is a copy, owned by the caller).
 * float64, float16 and bfloat16 become float32, and int64, int16, int8, uint8 and bool become
 * int32 (see `convert`); `requires_grad` is not kept. The pickle inside is read without running
 * anything: a checkpoint that names any Python class or function beyond what tensors and plain
 * containers (dict, OrderedDict, list, tuple, numbers, strings) need is E_FORMAT naming it. A
 * truncated or corrupt file is E_FORMAT, a missing one E_LOAD, and nothing is half-loaded.
 * A whole training checkpoint (argparse.Namespace, NumPy scalars) loads with `{ weightsOnly:
 * false }`, its other objects as inert placeholders (see LoadPytorchOptions.weightsOnly).
 * @example
 * const weights = io.loadPytorch('lenet.pt');               // torch.save(model.state_dict(), 'lenet.pt')
 * model.loadStateDict(weights);
 * const ckpt = io.loadPytorch('checkpoint.pt', { structure: true }) as { model_state_dict: Record<string, Tensor> };
 * const run = io.loadPytorch('train.pth', { structure: true, weightsOnly: false }) as { state_dict: Record<string, Tensor>; args: io.PythonObject; best_acc1: number };
 */
export function loadPytorch(source: string | Uint8Array, options?: LoadPytorchOptions & { structure?: false }): Record<string, Tensor>;
export function loadPytorch(source: string | Uint8Array, options: LoadPytorchOptions): unknown;
export function loadPytorch(source: string | Uint8Array, options: LoadPytorchOptions = {}): unknown {
  const op = 'loadPytorch';
  options = checkOptions<LoadPytorchOptions>(op, options, ['structure', 'convert', 'device', 'weightsOnly']);
  const structure = options.structure ?? false;
  const convert = options.convert ?? true;
  const weightsOnly = options.weightsOnly ?? true;
  if (typeof weightsOnly !== 'boolean') fail('E_ARG', `${op}: expected \`weightsOnly\` to be a boolean, got ${describe(weightsOnly)}`);
  if (typeof structure !== 'boolean') fail('E_ARG', `${op}: expected \`structure\` to be a boolean, got ${describe(structure)}`);
  if (typeof convert !== 'boolean') fail('E_ARG', `${op}: expected \`convert\` to be a boolean, got ${describe(convert)}`);
  const device = options.device === undefined ? 'cpu' : parseDevice(op, options.device);
  if (device === 'cuda') requireCuda(op); // before reading anything
  const { bytes, what } = sourceBytes(op, source);
  const bad = (msg: string): never => fail('E_FORMAT', `${op}: ${what} is not a PyTorch checkpoint it can read: ${msg}`);
  const { value, littleEndian } = looksLikeZip(bytes) ? readZipFormat(bytes, weightsOnly, bad) : readLegacyFormat(bytes, weightsOnly, bad);

  // Every tensor is checked (dtype, bounds, int64 range) as it is made; on any failure the ones
  // already made are disposed, so nothing is half-loaded.
  const made: Tensor[] = [];
  const make = (ref: TensorRef, path: string): Tensor => {
    const t = makeTensor(op, ref, path, littleEndian, convert, device, bad);
    made.push(t);
    return t;
  };
  try {
    if (structure) return rebuild(value, '', make, new Set(), bad);
    const flat: Record<string, Tensor> = {};
    flatten(value, '', flat, make, new Set(), bad);
    return flat;
  } catch (err) {
    for (const t of made) t.dispose();
    throw err;
  }
}

type Bad = (msg: string) => never;

/** The allowed Python names (see pickle.ts), given the storage a persistent id names; NumPy's scalars too without weightsOnly. */
function makeGlobals(weightsOnly: boolean, bad: Bad): Map<string, AllowedGlobal> {
  const globals = new Map<string, AllowedGlobal>();
  // Protocol 2 has no bytes opcode for Python 3: bytes are pickled as _codecs.encode(text, 'latin1').
  globals.set('_codecs.encode', (args) => {
    if (args.length !== 2 || typeof args[0] !== 'string' || args[1] !== 'latin1') bad(`_codecs.encode called with ${describe(args)}`);
    const text = args[0] as string;
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 255) bad('_codecs.encode of text outside latin1');
      out[i] = c;
    }
    return out;
  });
  if (!weightsOnly) {
    globals.set('numpy.dtype', (args) => {
      if (args.length < 1 || typeof args[0] !== 'string') bad(`numpy.dtype called with ${describe(args)}`);
      return new NumpyDtype(args[0] as string);
    });
    for (const module of ['numpy.core.multiarray', 'numpy._core.multiarray']) {
      globals.set(`${module}.scalar`, (args) => numpyScalar(module, args, bad));
    }
  }
  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) globals.set(`torch.${name}`, { marker: `torch.${name}`, dtype } as StorageType);
  // PyTorch 2 saves the dtypes added after the storage classes were frozen (float8, uint16, …)
  // in an untyped storage, rebuilt by _rebuild_tensor_v3; named so that the refusal says why.
  globals.set('torch.storage.UntypedStorage', { marker: 'torch.storage.UntypedStorage' });
  // An OrderedDict is a dict here (keys keep their order in a plain object, except keys that
  // look like array indices, which state dicts never use).
  globals.set('collections.OrderedDict', (args) => {
    const d: Record<string, unknown> = {};
    if (args.length > 0) {
      if (args.length !== 1 || !Array.isArray(args[0])) bad('OrderedDict called with arguments other than a list of pairs');
      for (const pair of args[0] as unknown[]) {
        if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') bad('OrderedDict called with an item that is not a (string, value) pair');
        setOwn(d, (pair as unknown[])[0] as string, (pair as unknown[])[1]);
      }
    }
    return d;
  });
  const rebuildTensor = (args: readonly unknown[], name: string): TensorRef => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof Storage)) return bad(`${name} called without a storage`);
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) bad(`${name} called with the offset ${describe(offset)}`);
    const ints = (x: unknown) => Array.isArray(x) && x.length <= 64 && x.every((d) => Number.isSafeInteger(d) && d >= 0);
    if (!ints(size)) bad(`${name} called with the size ${describe(size)}`);
    if (!ints(stride) || (stride as number[]).length !== (size as number[]).length) bad(`${name} called with the stride ${describe(stride)} for size ${describe(size)}`);
    return new TensorRef(storage, offset as number, [...(size as number[])], [...(stride as number[])]);
  };
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  globals.set('torch._utils._rebuild_tensor_v2', (args) => {
    if (args.length < 6 || args.length > 7) bad(`_rebuild_tensor_v2 called with ${args.length} arguments`);
    return rebuildTensor(args, '_rebuild_tensor_v2');
  });
  globals.set('torch._utils._rebuild_tensor', (args) => {
    if (args.length !== 4) bad(`_rebuild_tensor called with ${args.length} arguments`);
    return rebuildTensor(args, '_rebuild_tensor');
  });
  // A Parameter is its data: (data, requires_grad, backward_hooks[, state]).
  const rebuildParameter = (args: readonly unknown[]) => {
    if (args.length < 3 || args.length > 4 || !(args[0] instanceof TensorRef)) bad('_rebuild_parameter called without a tensor');
    return args[0];
  };
  globals.set('torch._utils._rebuild_parameter', rebuildParameter);
  globals.set('torch._utils._rebuild_parameter_with_state', rebuildParameter);
  return globals;
}

/** A persistent id's storage: ('storage', storage type, key, location, numel[, view metadata]). */
function storageFromId(pid: unknown, storages: Map<string, Storage>, legacy: boolean, bad: Bad): Storage {
  if (!Array.isArray(pid) || pid.length !== (legacy ? 6 : 5) || pid[0] !== 'storage') return bad(`unexpected persistent id ${describe(pid)}`);
  const [, type, key, , numel] = pid as unknown[];
  const dtype = (type as StorageType | null)?.dtype;
  if ((type as StorageType | null)?.marker === 'torch.storage.UntypedStorage') {
    fail('E_DTYPE', 'loadPytorch: the checkpoint has an untyped storage, which PyTorch 2 writes for dtypes such as float8 or uint16: cudnn-convnet loads float32 and int32 (and converts float64, float16, bfloat16 and the other integers); convert those tensors in PyTorch first');
  }
  if (typeof type !== 'object' || type === null || dtype === undefined) return bad(`a storage of type ${describe(type)}`);
  if (typeof key !== 'string') return bad(`a storage key ${describe(key)}`);
  if (!Number.isSafeInteger(numel) || (numel as number) < 0) return bad(`storage "${key}" has ${describe(numel)} elements`);
  if (legacy && pid[5] !== null) bad(`storage "${key}" is a view of another storage (PyTorch < 0.4); re-save the checkpoint with a recent PyTorch`);
  const seen = storages.get(key);
  if (seen !== undefined) {
    if (seen.dtype !== dtype || seen.numel !== numel) bad(`storage "${key}" is named twice with different dtypes or sizes`);
    return seen;
  }
  const storage = new Storage(key, dtype, numel as number);
  storages.set(key, storage);
  return storage;
}

function readZipFormat(bytes: Uint8Array, weightsOnly: boolean, bad: Bad): { value: unknown; littleEndian: boolean } {
  const entries = readZipDirectory(bytes, bad);
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) bad(pickles.length === 0 ? 'the zip archive has no <name>/data.pkl' : 'the zip archive has more than one <name>/data.pkl');
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  if ([...entries.keys()].some((name) => name.startsWith(`${prefix}code/`))) {
    bad('it is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save its state_dict() with torch.save');
  }
  const read = (name: string) => readZipEntry(bytes, entries.get(name)!, bad);
  let littleEndian = true;
  if (entries.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(read(`${prefix}byteorder`)).trim();
    if (order !== 'little' && order !== 'big') bad(`byteorder is ${JSON.stringify(order)}`);
    littleEndian = order === 'little';
  }
  const storages = new Map<string, Storage>();
  const pkl = read(pickles[0]);
  const { value, end } = unpickle(pkl, 0, {
    globals: makeGlobals(weightsOnly, bad),
    unknown: weightsOnly ? 'refuse' : 'placeholder',
    persistentLoad: (pid) => storageFromId(pid, storages, false, bad),
    bad,
  });
  if (end !== pkl.length) bad(`${pkl.length - end} bytes follow the pickle in data.pkl`);
  for (const storage of storages.values()) {
    const name = `${prefix}data/${storage.key}`;
    if (!entries.has(name)) bad(`storage "${storage.key}" has no entry ${name}`);
    const data = read(name);
    if (data.length !== storage.numel * storage.dtype.size) {
      bad(`storage "${storage.key}" of ${storage.numel} ${storage.dtype.name} elements needs ${storage.numel * storage.dtype.size} bytes, its entry has ${data.length}`);
    }
    storage.bytes = data;
  }
  return { value, littleEndian };
}

function readLegacyFormat(bytes: Uint8Array, weightsOnly: boolean, bad: Bad): { value: unknown; littleEndian: boolean } {
  if (bytes.length === 0) bad('the file is empty');
  if (bytes[0] !== 0x80) bad('it is neither a zip archive (PyTorch >= 1.6) nor a legacy pickle file (PyTorch < 1.6); very old tar checkpoints are not read: re-save with a recent PyTorch');
  const plain = { globals: new Map<string, AllowedGlobal>(), bad };
  const magic = unpickle(bytes, 0, plain);
  if (magic.value !== LEGACY_MAGIC) bad('it starts with a pickle but not with torch.save\'s magic number');
  const protocol = unpickle(bytes, magic.end, plain);
  if (protocol.value !== 1001) bad(`legacy protocol version ${describe(protocol.value)}, expected 1001`);
  const sysInfo = unpickle(bytes, protocol.end, plain);
  if (!isDict(sysInfo.value) || typeof sysInfo.value.little_endian !== 'boolean') bad('its system information is not a dict with little_endian');
  const littleEndian = (sysInfo.value as { little_endian: boolean }).little_endian;
  const storages = new Map<string, Storage>();
  const main = unpickle(bytes, sysInfo.end, {
    globals: makeGlobals(weightsOnly, bad),
    unknown: weightsOnly ? 'refuse' : 'placeholder',
    persistentLoad: (pid) => storageFromId(pid, storages, true, bad),
    bad,
  });
  const keys = unpickle(bytes, main.end, plain);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) bad('its storage key list is not a list of strings');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = keys.end;
  for (const key of keys.value as string[]) {
    const storage = storages.get(key);
    if (storage === undefined) return bad(`storage "${key}" is listed but not used`);
    if (at + 8 > bytes.length) bad(`storage "${key}" is missing: truncated?`);
    const numel = view.getBigInt64(at, littleEndian);
    if (numel !== BigInt(storage.numel)) bad(`storage "${key}" has ${numel} elements in the data but ${storage.numel} in the pickle`);
    const n = storage.numel * storage.dtype.size;
    if (at + 8 + n > bytes.length) bad(`storage "${key}" runs past the end of the file: truncated?`);
    storage.bytes = bytes.subarray(at + 8, at + 8 + n);
    at += 8 + n;
  }
  for (const storage of storages.values()) if (storage.bytes === null) bad(`storage "${storage.key}" is used but has no data`);
  if (at !== bytes.length) bad(`${bytes.length - at} bytes follow the last storage`);
  return { value: main.value, littleEndian };
}

/**
 * A NumPy dtype as the pickle rebuilds it: numpy.dtype('f8', False, True), then BUILD with a
 * state tuple whose second item is the byte order ('<', '>', '|' or '=').
 */
class NumpyDtype extends Settable {
  byteOrder = '=';
  constructor(readonly str: string) {
    super();
  }
  override setState(state: unknown, bad: Bad): void {
    if (!Array.isArray(state) || state.length < 2 || typeof state[1] !== 'string') bad(`numpy.dtype's state is ${describe(state)}`);
    this.byteOrder = (state as unknown[])[1] as string;
  }
  override toString(): string { return `dtype('${this.str}')`; }
}

/**
 * numpy.core.multiarray.scalar(dtype, bytes): a NumPy scalar (numpy.float64(0.5), numpy.int64(3),
 * numpy.bool_(True)) as a number (bigint for a 64-bit integer beyond 2^53) or a boolean. Other
 * dtypes (complex, strings, objects) stay placeholders.
 */
function numpyScalar(module: string, args: readonly unknown[], bad: Bad): unknown {
  const [dtype, raw] = args;
  const m = dtype instanceof NumpyDtype ? /^([<>|=]?)([fiub])(\d+)$/.exec(dtype.str) : null;
  if (m === null || !(raw instanceof Uint8Array)) return new PythonObject(module, 'scalar', args);
  const size = Number(m[3]);
  if (raw.length !== size) bad(`a NumPy scalar of dtype ${dtype} has ${raw.length} bytes`);
  const order = m[1] || (dtype as NumpyDtype).byteOrder;
  const le = order === '<' || order === '|' || (order === '=' && HOST_LITTLE);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const key = `${m[2]}${size}`;
  const safe = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  switch (key) {
    case 'f2': return halfToFloat(view.getUint16(0, le));
    case 'f4': return view.getFloat32(0, le);
    case 'f8': return view.getFloat64(0, le);
    case 'i1': return view.getInt8(0);
    case 'i2': return view.getInt16(0, le);
    case 'i4': return view.getInt32(0, le);
    case 'i8': return safe(view.getBigInt64(0, le));
    case 'u1': return view.getUint8(0);
    case 'u2': return view.getUint16(0, le);
    case 'u4': return view.getUint32(0, le);
    case 'u8': return safe(view.getBigUint64(0, le));
    case 'b1': return view.getUint8(0) !== 0;
    default: return new PythonObject(module, 'scalar', args);
  }
}

/** Every tensor of `value` by its dotted path; other leaves are left out (placeholders too). */
function flatten(value: unknown, path: string, out: Record<string, Tensor>, make: (ref: TensorRef, path: string) => Tensor, open: Set<unknown>, bad: Bad): void {
  if (value instanceof TensorRef) {
    if (Object.prototype.hasOwnProperty.call(out, path)) bad(`two tensors have the path "${path}"`);
    setOwn(out, path, make(value, path));
    return;
  }
  const children = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : isDict(value) ? Object.entries(value) : null;
  if (children === null) return;
  if (open.has(value)) bad(`the object at "${path}" contains itself`);
  open.add(value);
  for (const [k, v] of children) flatten(v, path === '' ? k : `${path}.${k}`, out, make, open, bad);
  open.delete(value);
}

/** The saved object with tensors made: dicts as plain objects, lists, tuples and sets as arrays. */
function rebuild(value: unknown, path: string, make: (ref: TensorRef, path: string) => Tensor, open: Set<unknown>, bad: Bad): unknown {
  if (value instanceof TensorRef) return make(value, path);
  if (value instanceof PythonObject) {
    // Its arguments and state may hold tensors (and memo references to what is around it).
    if (open.has(value)) bad(`the object at "${path}" contains itself`);
    open.add(value);
    const sub = (k: string) => (path === '' ? k : `${path}.${k}`);
    const out = new PythonObject(value.module, value.name, rebuild(value.args, sub('args'), make, open, bad) as unknown[],
      value.kwargs === null ? null : (rebuild(value.kwargs, sub('kwargs'), make, open, bad) as Record<string, unknown>));
    if (value.state !== undefined) out.setState(rebuild(value.state, sub('state'), make, open, bad));
    open.delete(value);
    return out;
  }
  if (!Array.isArray(value) && !isDict(value)) return value;
  if (open.has(value)) bad(`the object at "${path}" contains itself`);
  open.add(value);
  const sub = (k: string) => (path === '' ? k : `${path}.${k}`);
  let out: unknown;
  if (Array.isArray(value)) out = value.map((v, i) => rebuild(v, sub(String(i)), make, open, bad));
  else {
    const d: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(d, k, rebuild(v, sub(k), make, open, bad));
    out = d;
  }
  open.delete(value);
  return out;
}

/** Copies a tensor out of its storage (following offset and strides), converting its dtype. */
function makeTensor(op: string, ref: TensorRef, path: string, littleEndian: boolean, convert: boolean, device: Device, bad: Bad): Tensor {
  const { storage, offset, size, stride } = ref;
  const dtype = storage.dtype;
  const name = path === '' ? 'the tensor' : `"${path}"`;
  if (!convert && dtype.name !== 'float32' && dtype.name !== 'int32') {
    fail('E_DTYPE', `${op}: ${name} has dtype ${dtype.name}, which loads only with \`convert\` (float32 and int32 load as they are)`);
  }
  let count = 1;
  for (const d of size) count *= d;
  // A stride of 0 (expand) lets a tiny storage stand for a huge tensor: cap what one file may ask for.
  if (count > 2 ** 31 - 1) bad(`${name} has size [${size.join(', ')}]: over 2^31 - 1 elements`);
  let last = offset;
  for (let i = 0; i < size.length; i++) if (size[i] > 0) last += (size[i] - 1) * stride[i];
  if (count > 0 && last >= storage.numel) bad(`${name} (offset ${offset}, size [${size.join(', ')}], stride [${stride.join(', ')}]) reaches element ${last} of storage "${storage.key}", which has ${storage.numel}`);
  const bytes = storage.bytes!;
  // The common case, a contiguous float32 or int32 tensor in this machine's byte order: one copy
  // (to a fresh buffer, as file offsets need not be multiples of 4).
  if ((dtype.name === 'float32' || dtype.name === 'int32') && littleEndian === HOST_LITTLE && isContiguous(size, stride)) {
    // new Uint8Array(view) copies: `bytes` may be a Node Buffer (a legacy file's tail), whose
    // slice() is a view at the file's offset, not a multiple of 4 once other pickled objects
    // (NumPy scalars) come before the storages.
    const copy = new Uint8Array(bytes.subarray(4 * offset, 4 * (offset + count)));
    const values = dtype.name === 'float32' ? new Float32Array(copy.buffer, copy.byteOffset, count) : new Int32Array(copy.buffer, copy.byteOffset, count);
    return tensor(values, { shape: [...size], device });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = dtype.kind === 'float' ? new Float32Array(count) : new Int32Array(count);
  const read = reader(dtype.name, view, littleEndian, (j, v) => fail('E_RANGE', `${op}: ${name} holds the int64 value ${v} (element ${j} of its storage), outside int32's range`));
  // Row-major walk over the output; `j` is the storage index of output element i.
  const rank = size.length;
  const index = new Array<number>(rank).fill(0);
  let j = offset;
  for (let i = 0; i < count; i++) {
    out[i] = read(j);
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      j += stride[d];
      if (index[d] < size[d]) break;
      j -= stride[d] * size[d];
      index[d] = 0;
    }
  }
  return tensor(out, { shape: [...size], device });
}

const HOST_LITTLE = os.endianness() === 'LE';

/** Row-major with no gaps (dimensions of size 1 may have any stride). */
function isContiguous(size: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d];
  }
  return true;
}

const BF16_BITS = new Uint32Array(1);
const BF16_FLOAT = new Float32Array(BF16_BITS.buffer);

/** The function that reads element j of a storage of this dtype as a number. */
function reader(dtype: string, view: DataView, le: boolean, outOfRange: (j: number, v: bigint) => never): (j: number) => number {
  switch (dtype) {
    case 'float32': return (j) => view.getFloat32(4 * j, le);
    case 'float64': return (j) => view.getFloat64(8 * j, le);
    case 'float16': return (j) => halfToFloat(view.getUint16(2 * j, le));
    case 'bfloat16': return (j) => {
      BF16_BITS[0] = view.getUint16(2 * j, le) << 16;
      return BF16_FLOAT[0];
    };
    case 'int64': return (j) => {
      const v = view.getBigInt64(8 * j, le);
      if (v < -2147483648n || v > 2147483647n) outOfRange(j, v);
      return Number(v);
    };
    case 'int32': return (j) => view.getInt32(4 * j, le);
    case 'int16': return (j) => view.getInt16(2 * j, le);
    case 'int8': return (j) => view.getInt8(j);
    case 'uint8': return (j) => view.getUint8(j);
    default: return (j) => (view.getUint8(j) !== 0 ? 1 : 0); // bool
  }
}

/** IEEE half precision to a number (exact: every half is a float32). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
