/**
 * The tracer of onnx.export: runs the model's forward once, with gradients on and the inputs
 * requiring a gradient, so that every op computed from them is recorded on the autograd tape
 * (autograd.ts `record`); the trace hook sees each such op with its inputs, output and
 * settings, and the op's converter (ops.ts) writes the ONNX nodes that compute the same.
 *
 * What the tracer refuses rather than get wrong: an op it has no converter for, and a tensor
 * made during the forward that it did not see made (an op that records no gradient: an
 * integer result, a `noGrad` block, `detach()`), which would otherwise be frozen into the file
 * as a constant of this one input's values. Tensors that existed before the forward (the
 * model's parameters and buffers, constants the model holds) become initializers.
 */
import { setTraceHook, type TraceAttrs } from '../autograd';
import { setConstantHook, setCreateHook } from '../engine';
import { fail } from '../errors';
import { Tensor } from '../tensor';
import { describe, shapeStr } from '../validate';
import type { Attribute, OnnxNode, OnnxTensor } from './model';

/** What a converter writes with: the names of its inputs' values, constants and nodes. */
export interface Emitter {
  readonly opset: number;
  /** The name of the value an op input holds: a traced tensor, a parameter, a constant (a number becomes a float scalar). */
  value(input: unknown, what: string): string;
  /** A new float32 constant (an initializer). */
  floats(values: ArrayLike<number>, dims: readonly number[]): string;
  /** A new 1-D int64 constant (shapes, axes, indices). */
  ints(values: readonly number[]): string;
  /** Adds a node; returns the name of its (first) output. */
  node(opType: string, inputs: readonly string[], attributes?: Readonly<Record<string, Attribute>>): string;
  /** Adds a node of `count` outputs; returns their names. */
  nodeOutputs(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, Attribute>>, count: number): string[];
  /** The data of a tensor input that must be a constant (a parameter or buffer), or a refusal naming `what`. */
  constantData(input: unknown, what: string): { data: Float32Array | Int32Array; dims: readonly number[] };
}

/** One op's converter: writes the nodes computing `y` and returns the name of y's value. */
export type Converter = (e: Emitter, y: Tensor, inputs: readonly unknown[], attrs: TraceAttrs) => string;

/** The converter of an op of several outputs (traceAsMany): the names of its outputs' values, in order ('' where an output is null). */
export type ManyConverter = (e: Emitter, ys: readonly (Tensor | null)[], inputs: readonly unknown[], attrs: TraceAttrs) => readonly string[];

export class Tracer implements Emitter {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  /** Every tensor a traced op produced (or an input), and the name of its value. */
  readonly #values = new Map<Tensor, string>();
  /** Tensors made during the forward: one of them that is not in #values was made by an op the tracer did not see. */
  readonly #made = new WeakSet<Tensor>();
  /** Those of them made from no data (`full`, `zeros`, `ones`): constants whatever the input, kept as initializers. */
  readonly #filled = new WeakSet<Tensor>();
  /** Parameters and buffers by their state-dict key, and the initializers made of them so far. */
  readonly #constants: Map<Tensor, string>;
  readonly #constantValues = new Map<Tensor, string>();
  #counter = 0;

  constructor(readonly opset: number, namedConstants: Iterable<[string, Tensor]>, readonly converters: ReadonlyMap<string, Converter>,
    readonly manyConverters: ReadonlyMap<string, ManyConverter>) {
    this.#constants = new Map([...namedConstants].map(([name, t]) => [t, name]));
  }

  #fresh(base: string): string {
    return `${base}_${this.#counter++}`;
  }

  /** Names a graph input. */
  bind(t: Tensor, name: string): void {
    this.#values.set(t, name);
  }

  /** The name of a traced tensor's value, or null. */
  nameOf(t: Tensor): string | null {
    return this.#values.get(t) ?? null;
  }

  /** Runs `forward` with the hooks in place; whatever it throws, they are removed. */
  run<T>(forward: () => T): T {
    setCreateHook((t) => this.#made.add(t));
    setConstantHook((t) => this.#filled.add(t));
    setTraceHook((name, ys, inputs, attrs) => this.#onRecord(name, ys, inputs, attrs ?? {}));
    try {
      return forward();
    } finally {
      setTraceHook(null);
      setCreateHook(null);
      setConstantHook(null);
    }
  }

  #onRecord(name: string, ys: readonly (Tensor | null)[], inputs: readonly unknown[], attrs: TraceAttrs): void {
    const many = this.manyConverters.get(name);
    if (many !== undefined) {
      const names = many(this, ys, inputs, attrs);
      ys.forEach((y, i) => { if (y !== null) this.#values.set(y, names[i]); });
      return;
    }
    const convert = this.converters.get(name);
    if (convert === undefined || ys.length !== 1 || ys[0] === null) {
      fail('E_ARG', `onnx.export: the forward uses \`${name}\`, which the exporter cannot write as ONNX yet ` +
        `(it covers: ${[...this.converters.keys(), ...this.manyConverters.keys()].sort().join(', ')})`);
    }
    this.#values.set(ys[0], convert(this, ys[0], inputs, attrs));
  }

  value(input: unknown, what: string): string {
    if (input === null || input === undefined) return '';   // an absent optional input
    if (typeof input === 'number') return this.floats([input], []);
    if (!(input instanceof Tensor)) fail('E_INTERNAL', `onnx.export: ${what} is ${describe(input)}, not a tensor or a number`);
    const traced = this.#values.get(input);
    if (traced !== undefined) return traced;
    const known = this.#constantValues.get(input);
    if (known !== undefined) return known;
    const { data, dims } = this.constantData(input, what);
    const name = this.#constants.get(input) ?? this.#fresh('constant');
    this.initializers.push({ name, dtype: data instanceof Int32Array ? 'int32' : 'float32', dims, data });
    this.#constantValues.set(input, name);
    return name;
  }

  constantData(input: unknown, what: string): { data: Float32Array | Int32Array; dims: readonly number[] } {
    if (!(input instanceof Tensor)) return fail('E_INTERNAL', `onnx.export: ${what} is ${describe(input)}, not a tensor`);
    if (this.#values.has(input) || (this.#made.has(input) && !this.#filled.has(input))) {
      const by = input.gradFn ? `\`${input.gradFn.name}\`` : 'an op that records no gradient (an integer result, a noGrad block or detach())';
      fail('E_ARG', `onnx.export: ${what} (shape ${shapeStr(input.shape)}) was computed in the forward by ${by}; ` +
        'ONNX export needs it as a constant here, or every op that computes it traced with gradients on');
    }
    return { data: input.dataSync() as Float32Array | Int32Array, dims: input.shape };
  }

  floats(values: ArrayLike<number>, dims: readonly number[]): string {
    const name = this.#fresh('constant');
    this.initializers.push({ name, dtype: 'float32', dims, data: Float32Array.from(values) });
    return name;
  }

  ints(values: readonly number[]): string {
    const name = this.#fresh('constant');
    this.initializers.push({ name, dtype: 'int64', dims: [values.length], data: values });
    return name;
  }

  node(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, Attribute>> = {}): string {
    return this.nodeOutputs(opType, inputs, attributes, 1)[0];
  }

  nodeOutputs(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, Attribute>>, count: number): string[] {
    const name = this.#fresh(opType);
    const outputs = Array.from({ length: count }, (_, i) => (count === 1 ? `${name}_output` : `${name}_output_${i}`));
    // Trailing absent optional inputs are left out, as ONNX writers do.
    const given = inputs.slice();
    while (given.length > 0 && given[given.length - 1] === '') given.pop();
    this.nodes.push({ opType, inputs: given, outputs, name, attributes });
    return outputs;
  }

  /** Adds a node writing to a given name (a graph output). */
  rename(from: string, to: string): void {
    this.nodes.push({ opType: 'Identity', inputs: [from], outputs: [to], name: this.#fresh('Identity'), attributes: {} });
  }
}
