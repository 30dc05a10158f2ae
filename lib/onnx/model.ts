/**
 * ONNX's messages (onnx/onnx.proto3, IR version 8) as plain objects, and their encoding. Only the
 * fields an exported inference graph uses: a graph of nodes over named values, its initializers
 * (the weights, stored as raw little-endian bytes), and the types and shapes of its inputs and
 * outputs. Field numbers are onnx.proto's.
 */
import { ProtoWriter } from './protobuf';

/** TensorProto.DataType. */
export const DATA_TYPE = { float32: 1, int32: 6, int64: 7 } as const;
export type OnnxDType = keyof typeof DATA_TYPE;

/** An attribute: `{ i }` int, `{ f }` float, `{ ints }`, `{ floats }`, `{ s }` string, `{ strings }`. */
export type Attribute = { i: number } | { f: number } | { ints: readonly number[] } | { floats: readonly number[] } | { s: string } | { strings: readonly string[] };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attributes: Readonly<Record<string, Attribute>>;
}

export interface OnnxTensor {
  name: string;
  dtype: OnnxDType;
  dims: readonly number[];
  /** float32: a Float32Array; int64: numbers (exact integers). */
  data: Float32Array | Int32Array | readonly number[];
}

/** A graph input or output: its element type and dims, a string for a dynamic one (`'batch'`). */
export interface ValueInfo {
  name: string;
  dtype: OnnxDType;
  dims: readonly (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
}

export interface OnnxModel {
  graph: OnnxGraph;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
}

// AttributeProto.AttributeType
const ATTRIBUTE_TYPE = { f: 1, i: 2, s: 3, floats: 6, ints: 7, strings: 8 } as const;

function encodeAttribute(name: string, a: Attribute): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if ('f' in a) w.float(2, a.f).int(20, ATTRIBUTE_TYPE.f);
  else if ('i' in a) w.int(3, a.i).int(20, ATTRIBUTE_TYPE.i);
  else if ('s' in a) w.string(4, a.s).int(20, ATTRIBUTE_TYPE.s);
  else if ('floats' in a) w.packedFloats(7, a.floats).int(20, ATTRIBUTE_TYPE.floats);
  else if ('strings' in a) {
    for (const s of a.strings) w.string(9, s);
    w.int(20, ATTRIBUTE_TYPE.strings);
  } else w.packedInts(8, a.ints).int(20, ATTRIBUTE_TYPE.ints);
  return w;
}

function encodeNode(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const [name, a] of Object.entries(n.attributes)) w.message(5, encodeAttribute(name, a));
  return w;
}

function encodeTensor(t: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter().packedInts(1, t.dims).int(2, DATA_TYPE[t.dtype]).string(8, t.name);
  let raw: Uint8Array;
  if (t.dtype === 'int64') {
    const v = new BigInt64Array(t.data.length);
    for (let i = 0; i < v.length; i++) v[i] = BigInt(t.data[i]);
    raw = new Uint8Array(v.buffer);
  } else {
    const typed = t.dtype === 'float32' ? Float32Array.from(t.data as ArrayLike<number>) : Int32Array.from(t.data as ArrayLike<number>);
    raw = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  }
  return w.bytes(9, raw);   // raw_data: little-endian, as every machine Node runs on
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) shape.message(1, typeof d === 'string' ? new ProtoWriter().string(2, d) : new ProtoWriter().int(1, d));
  const tensorType = new ProtoWriter().int(1, DATA_TYPE[v.dtype]).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

function encodeGraph(g: OnnxGraph): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t));
  for (const i of g.inputs) w.message(11, encodeValueInfo(i));
  for (const o of g.outputs) w.message(12, encodeValueInfo(o));
  return w;
}

/** The IR version that came with the opset (onnx/helper.py's table): 8 up to opset 18, 9 for 19-20, 10 for 21. */
function irVersion(opset: number): number {
  return opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

/** The model's bytes: what an `.onnx` file holds. */
export function encodeModel(m: OnnxModel): Uint8Array {
  const w = new ProtoWriter()
    .int(1, irVersion(m.opsetVersion))
    .string(2, m.producerName)
    .string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, encodeGraph(m.graph));
  w.message(8, new ProtoWriter().string(1, '').int(2, m.opsetVersion));
  return w.finish();
}
