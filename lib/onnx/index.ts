/**
 * `onnx.export`: a model as an ONNX file, for ONNX Runtime, TensorRT, OpenVINO and the other
 * runtimes that read ONNX (as `torch.onnx.export`). The model's forward runs once on example
 * inputs and every op it computes is written as ONNX nodes (trace.ts, ops.ts), its parameters
 * and buffers as initializers under their state-dict keys.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { enableGrad } from '../autograd';
import { tidy } from '../engine';
import { atomicWrite } from '../io/file';
import { fail } from '../errors';
import { Module } from '../nn/module';
import { Tensor } from '../tensor';
import { checkOptions, describe } from '../validate';
import { encodeModel, type ValueInfo } from './model';
import { CONVERTERS, MANY_CONVERTERS } from './ops';
import { Tracer } from './trace';

export const MIN_OPSET = 13, MAX_OPSET = 21, DEFAULT_OPSET = 17;

export interface ExportOptions {
  /** The graph inputs' names, one per input (default `input`, or `input_0`, `input_1`, ...). */
  inputNames?: readonly string[];
  /** The graph outputs' names (default `output`, or `output_0`, ...). */
  outputNames?: readonly string[];
  /**
   * Axes of inputs and outputs whose size may differ when the file runs, by name: a list of
   * axes (named `<name>_dynamic_axes_<k>`) or { axis: name }, as PyTorch's `dynamic_axes`.
   * @example { input: { 0: 'batch' }, output: { 0: 'batch' } }
   */
  dynamicAxes?: Readonly<Record<string, readonly number[] | Readonly<Record<number, string>>>>;
  /** The ONNX opset, 13 to 21 (default 17, as PyTorch 2's). */
  opsetVersion?: number;
  /** Stored in the file as the model's doc_string. */
  docString?: string;
}

function names(what: string, given: readonly string[] | undefined, count: number, base: string): string[] {
  if (given === undefined) return count === 1 ? [base] : Array.from({ length: count }, (_, i) => `${base}_${i}`);
  if (!Array.isArray(given) || given.length !== count || !given.every((n) => typeof n === 'string' && n.length > 0)) {
    fail('E_ARG', `onnx.export: expected \`${what}\` to be ${count} non-empty string${count === 1 ? '' : 's'}, got ${describe(given)}`);
  }
  if (new Set(given).size !== given.length) fail('E_ARG', `onnx.export: \`${what}\` repeats a name: ${describe(given)}`);
  return [...given];
}

/** The dims of a graph input or output: its traced shape, with the dynamic axes named. */
function dimsOf(name: string, shape: readonly number[], dynamic: ExportOptions['dynamicAxes']): (number | string)[] {
  const dims: (number | string)[] = shape.slice();
  const spec = dynamic?.[name];
  if (spec === undefined) return dims;
  const entries: [number, string][] = Array.isArray(spec)
    ? (spec as readonly number[]).map((a) => [a, `${name}_dynamic_axes_${a}`])
    : Object.entries(spec).map(([a, n]) => [Number(a), n as string]);
  for (const [axis, label] of entries) {
    if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length || typeof label !== 'string' || label.length === 0) {
      fail('E_ARG', `onnx.export: dynamicAxes.${name} names axis ${describe(axis)} (${describe(label)}), but \`${name}\` has ${shape.length} axes`);
    }
    dims[axis] = label;
  }
  return dims;
}

/**
 * Writes `model` as an ONNX model: runs `model.call(...inputs)` once (in eval mode, restored
 * after) and records every op; returns the file's bytes, and writes them to `path` when given.
 * The file computes what the model does on inputs of these shapes (of other sizes along
 * `dynamicAxes`). An op the exporter does not cover is an E_ARG error naming it; nothing is
 * written then.
 * @example
 * onnx.export(model, cc.randn([1, 1, 28, 28]), 'lenet5.onnx', { dynamicAxes: { input: { 0: 'batch' }, output: { 0: 'batch' } } });
 */
function exportModel(model: Module, inputs: Tensor | readonly Tensor[], path?: string | null, options: ExportOptions = {}): Uint8Array {
  const op = 'onnx.export';
  if (!(model instanceof Module)) fail('E_ARG', `${op}: expected an nn.Module, got ${describe(model)}`);
  const args = inputs instanceof Tensor ? [inputs] : inputs;
  if (!Array.isArray(args) || args.length === 0 || !args.every((t) => t instanceof Tensor)) {
    fail('E_ARG', `${op}: expected a Tensor or a non-empty array of Tensors as the example inputs, got ${describe(inputs)}`);
  }
  for (const [i, t] of args.entries()) {
    if (t.isDisposed) fail('E_DISPOSED', `${op}: input ${i} was disposed`);
    if (t.dtype !== 'float32' && t.dtype !== 'int32') fail('E_DTYPE', `${op}: the exporter writes float32 and int32 inputs; input ${i} is ${t.dtype}`);
  }
  if (path !== undefined && path !== null && (typeof path !== 'string' || path.length === 0)) fail('E_ARG', `${op}: expected \`path\` to be a file path or null, got ${describe(path)}`);
  const o = checkOptions<ExportOptions>(op, options, ['inputNames', 'outputNames', 'dynamicAxes', 'opsetVersion', 'docString']);
  const opset = o.opsetVersion ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) fail('E_ARG', `${op}: expected \`opsetVersion\` an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${describe(opset)}`);
  if (o.docString !== undefined && typeof o.docString !== 'string') fail('E_ARG', `${op}: expected \`docString\` to be a string, got ${describe(o.docString)}`);
  if (o.dynamicAxes !== undefined && (typeof o.dynamicAxes !== 'object' || o.dynamicAxes === null)) fail('E_ARG', `${op}: expected \`dynamicAxes\` to be an object, got ${describe(o.dynamicAxes)}`);
  const inputNames = names('inputNames', o.inputNames, args.length, 'input');

  const quantized = model.modules().find((m) => m.typeName.startsWith('Quantized'));
  if (quantized) fail('E_ARG', `${op}: the model holds an 8-bit layer (${quantized.typeName}), which the exporter cannot write as ONNX yet; export the float model`);
  const modes = model.modules().map((m) => [m, m.training] as const);
  // Frozen parameters too must require a gradient while tracing, or an op on one alone (a
  // bias reshaped in the forward) would go unrecorded and be refused.
  const frozen = model.parameters().filter((p) => !p.requiresGrad);
  model.eval();
  for (const p of frozen) p.requiresGrad = true;
  const tracer = new Tracer(opset, [...model.namedParameters(), ...model.namedBuffers()], CONVERTERS, MANY_CONVERTERS);
  let outputs: { name: string; shape: readonly number[] }[];
  try {
    outputs = tidy(() => enableGrad(() => {
      // Copies that require a gradient, so that every op computed from them is recorded (int32
      // inputs, indices, cannot: the ops that read them, an embedding, pass them as settings).
      const traced = args.map((t, i) => {
        const x = t.dtype === 'float32' ? t.detach().requiresGrad_() : t.detach();
        tracer.bind(x, inputNames[i]);
        return x;
      });
      const result: unknown = tracer.run(() => model.call(...traced));
      const list = result instanceof Tensor ? [result] : Array.isArray(result) && result.every((t) => t instanceof Tensor) ? result as Tensor[] : null;
      if (list === null) return fail('E_ARG', `${op}: the forward returned ${describe(result)}; the exporter writes a Tensor or an array of Tensors`);
      return list.map((t, i) => {
        const name = tracer.nameOf(t);
        if (name === null) {
          fail('E_ARG', `${op}: output ${i} (shape ${t.shape.join('x')}) was not computed by traced ops from the inputs ` +
            `(${t.gradFn ? `\`${t.gradFn.name}\`` : 'an op that records no gradient, or a constant'})`);
        }
        return { name, shape: t.shape };
      });
    }));
  } finally {
    for (const [m, training] of modes) m.training = training;
    for (const p of frozen) p.requiresGrad = false;
  }
  const outputNames = names('outputNames', o.outputNames, outputs.length, 'output');
  const both = outputNames.find((n) => inputNames.includes(n));
  if (both !== undefined) fail('E_ARG', `${op}: \`${both}\` names both an input and an output; a value has one name in ONNX`);
  for (const key of Object.keys(o.dynamicAxes ?? {})) {
    if (!inputNames.includes(key) && !outputNames.includes(key)) fail('E_ARG', `${op}: dynamicAxes names \`${key}\`, which is neither an input (${inputNames.join(', ')}) nor an output (${outputNames.join(', ')})`);
  }
  outputs.forEach((out, i) => tracer.rename(out.name, outputNames[i]));
  const info = (name: string, shape: readonly number[], dtype: 'float32' | 'int32' = 'float32'): ValueInfo => ({ name, dtype, dims: dimsOf(name, shape, o.dynamicAxes) });
  const bytes = encodeModel({
    opsetVersion: opset,
    producerName: 'cudnn-convnet',
    producerVersion: version(),
    docString: o.docString,
    graph: {
      name: model.typeName,
      nodes: tracer.nodes,
      initializers: tracer.initializers,
      inputs: args.map((t, i) => info(inputNames[i], t.shape, t.dtype as 'float32' | 'int32')),
      outputs: outputs.map((out, i) => info(outputNames[i], out.shape)),
    },
  });
  if (typeof path === 'string') atomicWrite(op, path, bytes);
  return bytes;
}

/** This package's version (producer_version), from its package.json (dist/lib/onnx/ is three folders below it). */
function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '';
  }
}

export { exportModel as export };
