/**
 * Saving and loading whole models: `models.save(model, dir)` writes
 *
 *   model.safetensors   the state dict (PyTorch's key names: loads into the same model in PyTorch)
 *   model.json          the architecture: { format, version, weights, architecture }
 *
 * and `models.load(dir)` rebuilds the model from the JSON and fills it from the weights.
 *
 * The architecture is each module's type name and constructor arguments (`Module.config()`),
 * nested: `{ "type": "Sequential", "args": [{ "$module": { "type": "Conv2d", "args": [1, 6, [5, 5], {…}] } }, …] }`.
 * Inside `args`, `{ "$module": … }` is a module, `{ "$tensor": { dtype, shape } }` a tensor
 * whose values are in the weights (a loss's class weight), `{ "$number": "Infinity" }` a number
 * JSON cannot hold. Types are looked up in a registry that holds every class of `nn`; a custom
 * module class needs a `config()` and `models.register(name, Class)` before save and load.
 */
import * as fs from 'fs';
import * as path from 'path';
import { zeros } from '../creation';
import { ConvnetError, fail } from '../errors';
import { atomicWrite, readWhole } from '../io/file';
import { loadSafetensors, saveSafetensors } from '../io/safetensors';
import * as nn from '../nn';
import { Module } from '../nn/module';
import type { DType, Tensor } from '../tensor';
import { describe, isTensor } from '../validate';

/** The `format` and `version` that model.json carries; a later version that changes it bumps it. */
const FORMAT = 'cudnn-convnet/model';
const VERSION = 1;

type ModuleClass = abstract new (...args: never[]) => Module;
type Factory = (...args: any[]) => Module; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Registered { cls: ModuleClass; factory: Factory }

const registry = new Map<string, Registered>();

/**
 * Registers a module class under `name` so that `models.save` can describe its instances and
 * `models.load` rebuild them: the class implements `config()` (its constructor's arguments) and
 * is rebuilt with `new Class(...config)`, or with `factory(...config)` when given. Every class
 * of `nn` is registered already. Registering another class under a taken name is E_ARG.
 * @example
 * class Net extends nn.Module {
 *   constructor(readonly hidden: number) { super(); this.fc = this.registerModule('fc', new nn.Linear(784, hidden)); }
 *   config() { return [this.hidden]; }
 *   forward(x: Tensor) { return this.fc.call(x); }
 * }
 * models.register('Net', Net);
 * models.save(new Net(32), 'out/net');   const net = models.load('out/net');
 */
export function register(name: string, cls: ModuleClass, factory?: Factory): void {
  const op = 'models.register';
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) fail('E_ARG', `${op}: expected a name of letters, digits, _ and dots, got ${describe(name)}`);
  if (typeof cls !== 'function' || !(cls.prototype instanceof Module)) fail('E_ARG', `${op}: expected a subclass of nn.Module, got ${describe(cls)}`);
  if (factory !== undefined && typeof factory !== 'function') fail('E_ARG', `${op}: expected \`factory\` to be a function, got ${describe(factory)}`);
  const taken = registry.get(name);
  if (taken !== undefined && taken.cls !== cls) fail('E_ARG', `${op}: "${name}" is already registered for another class (${taken.cls.name})`);
  const C = cls as unknown as new (...args: unknown[]) => Module;
  registry.set(name, { cls, factory: factory ?? ((...args: unknown[]) => new C(...args)) });
}

for (const [name, value] of Object.entries(nn)) {
  if (typeof value === 'function' && value.prototype instanceof Module) register(name, value as unknown as ModuleClass);
}

function nameOf(m: Module): string | null {
  for (const [name, r] of registry) if (m.constructor === r.cls) return name;
  return null;
}

// ---- architecture <-> JSON ----------------------------------------------------------------------

interface Architecture { type: string; args: unknown[] }

/**
 * Limits on model.json, both ways: nesting (modules in modules, arrays in arrays) and the
 * arguments of one module. A real model is far inside them; a corrupt or hostile file would
 * otherwise blow the stack (RangeError) rather than be reported as E_FORMAT.
 */
const MAX_DEPTH = 256;
const MAX_ARGS = 10000;

function describeModule(m: Module, where: string, stack: Set<object> = new Set()): Architecture {
  const op = 'models.save';
  const type = nameOf(m);
  if (type === null) {
    fail('E_ARG', `${op}: ${where} is a ${m.typeName}, which is not registered: give the class a config() and call models.register('${m.typeName}', ${m.typeName})`);
  }
  const args = m.config();
  if (!Array.isArray(args)) fail('E_ARG', `${op}: ${where} (${type}) has no config(): implement it to return the constructor's arguments`);
  if (args.length > MAX_ARGS) fail('E_ARG', `${op}: ${where} (${type}) has ${args.length} constructor arguments (at most ${MAX_ARGS})`);
  return { type, args: encode(args, `${where}.args`, stack) as unknown[] };
}

/** Whether a config holds modules (a Sequential's layers): then it describes its children itself. */
function holdsModules(v: unknown, depth = 0): boolean {
  if (v instanceof Module) return true;
  if (depth > MAX_DEPTH || v === null || typeof v !== 'object' || isTensor(v)) return false;
  return Object.values(v as object).some((x) => holdsModules(x, depth + 1));
}

/**
 * A module rebuilt from its config() alone (a ResNet, its blocks) gets back the children its
 * constructor makes: where setSubmodule (or nn.utils.fuseConvBn) replaced one, the file would
 * not load. Refused here, before anything is written.
 */
function checkRebuildable(model: Module): void {
  for (const [name, m] of model.namedModules()) {
    if (!m.childSwapped) continue;
    const args = m.config();
    if (Array.isArray(args) && holdsModules(args)) continue;
    fail('E_ARG', `models.save: ${name ? `\`${name}\`` : 'the model'} (a ${m.typeName}) had a child replaced by setSubmodule or nn.utils.fuseConvBn, which its config() cannot describe: ` +
      'save the model before fusing (and fuse again after models.load), or save its weights alone with io.saveSafetensors(path, model.stateDict())');
  }
}

/** `stack` holds the arrays, objects and modules being encoded: one met again is a cycle. */
function encode(v: unknown, where: string, stack: Set<object>): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : { $number: String(v) };
  if (typeof v !== 'object' || isTensor(v)) {
    if (isTensor(v)) return { $tensor: { dtype: v.dtype, shape: [...v.shape] } };
    return fail('E_ARG', `models.save: ${where} is ${describe(v)}, which model.json cannot hold`);
  }
  if (stack.has(v)) fail('E_ARG', `models.save: ${where} contains itself (a cycle), which model.json cannot hold`);
  if (stack.size >= MAX_DEPTH) fail('E_ARG', `models.save: ${where} is nested more than ${MAX_DEPTH} levels deep`);
  stack.add(v);
  try {
    if (v instanceof Module) return { $module: describeModule(v, where, stack) };
    if (Array.isArray(v)) return v.map((x, i) => encode(x === undefined ? null : x, `${where}[${i}]`, stack));
    if (Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (x !== undefined) Object.defineProperty(out, k, { value: encode(x, `${where}.${k}`, stack), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return fail('E_ARG', `models.save: ${where} is ${describe(v)}, which model.json cannot hold`);
  } finally {
    stack.delete(v);
  }
}

/** Builds modules from an architecture; every tensor it made for arguments goes in `made`. */
function build(a: unknown, where: string, made: Tensor[], built: Module[], depth = 0): Module {
  const bad = (msg: string): never => fail('E_FORMAT', `models.load: ${where}: ${msg}`);
  if (depth > MAX_DEPTH) bad(`nested more than ${MAX_DEPTH} levels deep`);
  if (typeof a !== 'object' || a === null || Array.isArray(a)) bad(`expected { type, args }, got ${describe(a)}`);
  const { type, args } = a as Record<string, unknown>;
  if (typeof type !== 'string') return bad(`expected a type name, got ${describe(type)}`);
  const r = registry.get(type);
  if (r === undefined) bad(`unknown module type "${type}" (a custom class must be registered with models.register('${type}', Class) before loading)`);
  if (!Array.isArray(args)) bad(`expected args to be an array, got ${describe(args)}`);
  if ((args as unknown[]).length > MAX_ARGS) bad(`${type} has ${(args as unknown[]).length} arguments (at most ${MAX_ARGS})`);
  const values = (args as unknown[]).map((x, i) => decode(x, `${where}.args[${i}]`, made, built, depth + 1));
  let m: Module;
  try {
    m = r!.factory(...values);
  } catch (e) {
    if (e instanceof ConvnetError) bad(`${type} cannot be built from its arguments: ${e.message}`);
    throw e;
  }
  if (!(m instanceof Module)) bad(`the factory of "${type}" returned ${describe(m)}, not a Module`);
  built.push(m);
  return m;
}

function decode(v: unknown, where: string, made: Tensor[], built: Module[], depth: number): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (depth > MAX_DEPTH) fail('E_FORMAT', `models.load: ${where}: nested more than ${MAX_DEPTH} levels deep`);
  if (Array.isArray(v)) return v.map((x, i) => decode(x, `${where}[${i}]`, made, built, depth + 1));
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === '$module') return build(o.$module, where, made, built, depth + 1);
  if (keys.length === 1 && keys[0] === '$number') {
    if (!['Infinity', '-Infinity', 'NaN'].includes(o.$number as string)) fail('E_FORMAT', `models.load: ${where}: bad $number ${describe(o.$number)}`);
    return Number(o.$number);
  }
  if (keys.length === 1 && keys[0] === '$tensor') {
    const t = o.$tensor as Record<string, unknown> | null;
    const shape = t?.shape, dtype = t?.dtype;
    if ((dtype !== 'float32' && dtype !== 'int32') || !Array.isArray(shape) || shape.length > 64 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail('E_FORMAT', `models.load: ${where}: bad $tensor ${describe(t)}`);
    }
    const z = zeros(shape as number[], dtype as DType);
    made.push(z);
    return z;
  }
  const out: Record<string, unknown> = {};
  // defineProperty: a key "__proto__" (JSON.parse keeps it as an own key) would set the prototype.
  for (const k of keys) Object.defineProperty(out, k, { value: decode(o[k], `${where}.${k}`, made, built, depth + 1), enumerable: true, writable: true, configurable: true });
  return out;
}

// ---- files ------------------------------------------------------------------------------------

function paths(op: string, target: unknown): { dir: string; json: string } {
  if (typeof target !== 'string' || target.length === 0) fail('E_ARG', `${op}: expected a folder or a .json path, got ${describe(target)}`);
  if (target.endsWith('.json')) return { dir: path.dirname(target), json: target };
  return { dir: target, json: path.join(target, 'model.json') };
}

/** What `models.save` wrote. */
export interface SavedModel { json: string; weights: string }

/**
 * Saves a model: its state dict as safetensors (PyTorch's keys) and its architecture as JSON.
 * `target` is a folder (created if needed; files `model.json` and `model.safetensors`) or a
 * path ending in `.json` (the weights go beside it, `<name>.safetensors`). The architecture is
 * checked first (a module that is not registered is E_ARG and nothing is written); both files
 * are written atomically, weights first.
 * @example
 * models.save(model, 'runs/lenet');          // runs/lenet/model.json + model.safetensors
 * const again = models.load('runs/lenet');
 */
export function save(model: Module, target: string): SavedModel {
  const op = 'models.save';
  if (!(model instanceof Module)) fail('E_ARG', `${op}: expected an nn.Module, got ${describe(model)}`);
  const { dir, json } = paths(op, target);
  const weightsName = target.endsWith('.json') ? `${path.basename(json, '.json')}.safetensors` : 'model.safetensors';
  checkRebuildable(model);   // the whole tree, once: configs of options describe no children
  const doc = { format: FORMAT, version: VERSION, weights: weightsName, architecture: describeModule(model, 'the model') };
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    fail('E_IO', `${op}: cannot create the folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const weights = path.join(dir, weightsName);
  const state = model.stateDict();
  try {
    saveSafetensors(weights, state);
  } finally {
    for (const t of Object.values(state)) t.dispose();
  }
  atomicWrite(op, json, `${JSON.stringify(doc, null, 1)}\n`);
  return { json, weights };
}

/**
 * Rebuilds a model saved by `models.save` (a folder, or its `.json` path): checks the JSON's
 * format and version, builds every module from the registry, reads the weights (fully
 * validated, see `io.loadSafetensors`) and loads them strictly. A missing file is E_LOAD; a
 * corrupt or inconsistent one (unknown type, bad arguments, weights that do not fit) is
 * E_FORMAT, and nothing is left allocated. The model comes back in training mode, as `new`
 * makes it: call `eval()` for inference.
 * @example const model = models.load('runs/lenet').eval();
 */
export function load(target: string): Module {
  const op = 'models.load';
  const { dir, json } = paths(op, target);
  const text = readWhole(op, json).toString('utf8');
  const bad = (msg: string): never => fail('E_FORMAT', `${op}: ${json}: ${msg}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return bad(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return bad('expected a JSON object');
  const { format, version, weights, architecture } = doc as Record<string, unknown>;
  if (format !== FORMAT) bad(`expected format "${FORMAT}", got ${describe(format)}`);
  if (version !== VERSION) bad(`version ${describe(version)} is not one this library reads (${VERSION})`);
  if (typeof weights !== 'string' || weights !== path.basename(weights) || weights === '..' || !weights.endsWith('.safetensors')) {
    bad(`expected weights to name a .safetensors file in the same folder, got ${describe(weights)}`);
  }
  const { tensors } = loadSafetensors(path.join(dir, weights as string));
  const made: Tensor[] = [];
  const built: Module[] = [];
  try {
    const model = build(architecture, 'architecture', made, built);
    try {
      model.loadStateDict(tensors);
    } catch (e) {
      if (e instanceof ConvnetError) bad(`the weights in ${weights} do not fit the architecture: ${e.message}`);
      throw e;
    }
    return model;
  } catch (e) {
    for (const m of built) m.dispose();
    // A stack overflow in a constructor fed odd arguments is the file's fault, not a crash.
    if (e instanceof RangeError) bad(`the architecture cannot be built (${e.message})`);
    throw e;
  } finally {
    for (const t of made) t.dispose();
    for (const t of Object.values(tensors)) t.dispose();
  }
}
