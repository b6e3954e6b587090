import { Attr, Graph, Tensor } from '../dsl/graph.js';
import { ONNX_DTYPE, Shape, TypedArray } from '../dsl/types.js';
import { GraphProto, TensorProto, onnx } from './proto.js';
import { simplify } from './simplify.js';

export const OPSET = 18;
export const IR_VERSION = 9;

export interface EmitOptions {
  /** Graph inputs in this order (default: parameters, then data inputs). */
  inputOrder?: readonly Tensor[];
  docString?: string;
  metadata?: Record<string, string>;
  producerVersion?: string;
  /** Skip graph simplification (tests compare against the raw graph). */
  raw?: boolean;
  /** Prefix for every value name (subgraphs must not shadow outer-scope names). */
  prefix?: string;
}

/** The bytes of a typed array, for TensorProto.raw_data: a view on its buffer (no copy), in the host's (little-endian) byte order. */
export function tensorBytes(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A TensorProto with the values in raw_data; `data` must be the typed array of `dtype` holding numel(dims) values (not checked). */
export function tensorProto(name: string, dtype: keyof typeof ONNX_DTYPE, dims: readonly number[], data: TypedArray): TensorProto {
  // raw_data is little-endian, which matches typed arrays on every platform Node supports.
  return { name, dataType: ONNX_DTYPE[dtype], dims: [...dims], rawData: tensorBytes(data) };
}

function valueInfo(name: string, dtype: keyof typeof ONNX_DTYPE, shape: Shape) {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: ONNX_DTYPE[dtype], shape: { dim } } } };
}

function attributeProto(name: string, a: Attr) {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: a.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: a.value };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case 'graph':
      return { name, type: T.GRAPH, g: graphProto(a.value, { inputOrder: a.inputOrder, prefix: a.prefix }) };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorProto('', a.dtype, a.shape, a.data) };
  }
}

/** Converts a DSL graph to a GraphProto. Output tensors are renamed to their output names. */
export function graphProto(graph: Graph, opts: EmitOptions): GraphProto {
  const g = opts.raw ? graph : simplify(graph);
  // Node outputs take their output name directly; inputs, constants and tensors already
  // exported under another name go through an Identity.
  const rename = new Map<Tensor, string>();
  const viaIdentity: [string, Tensor][] = [];
  for (const [name, t] of g.outputs) {
    if (t.source.kind === 'node' && !rename.has(t)) rename.set(t, name);
    else viaIdentity.push([name, t]);
  }
  const prefix = opts.prefix ?? '';
  const nameOf = (t: Tensor) => prefix + (rename.get(t) ?? t.name);
  const order = opts.inputOrder ?? [...g.params, ...g.inputs];
  for (const t of [...g.params, ...g.inputs]) {
    if (!order.includes(t)) throw new Error(`graph '${g.name}': input ${t.name} is missing from the input order`);
  }
  const initializer: TensorProto[] = [];
  const input = [];
  for (const t of order) input.push(valueInfo(nameOf(t), t.dtype, t.shape));
  const used = usedTensors(g);
  for (const t of used) {
    if (t.source.kind === 'const') initializer.push(tensorProto(nameOf(t), t.dtype, t.shape as number[], t.source.data));
    if (t.source.kind === 'param' && !order.includes(t)) throw new Error(`parameter ${t.name} is used but not a graph input`);
  }
  const node = g.nodes.map((n) => ({
    name: n.name,
    opType: n.op,
    domain: '',
    input: trimOptional(n.inputs.map((t) => (t ? nameOf(t) : ''))),
    output: n.outputs.map(nameOf),
    attribute: Object.entries(n.attrs).map(([k, a]) => attributeProto(k, a)),
    docString: n.doc || undefined,
  }));
  for (const [name, t] of viaIdentity) {
    node.push({ name: `output/${name}`, opType: 'Identity', domain: '', input: [nameOf(t)], output: [prefix + name], attribute: [], docString: undefined });
  }
  const output = [...g.outputs].map(([name, t]) => valueInfo(prefix + name, t.dtype, t.shape));
  return { name: g.name, node, initializer, input, output, docString: opts.docString };
}

/**
 * Drops trailing omitted optional inputs: ONNX treats them as absent either way, but
 * ORT's extended optimizer crashes (segfault) on e.g. LayerNormalization(x, scale, "")
 * when it fuses an Add into SkipLayerNormalization.
 */
function trimOptional(inputs: string[]): string[] {
  let n = inputs.length;
  while (n > 0 && inputs[n - 1] === '') n--;
  return n === inputs.length ? inputs : inputs.slice(0, n);
}

function usedTensors(g: Graph): Set<Tensor> {
  const used = new Set<Tensor>();
  for (const n of g.nodes) for (const t of n.inputs) if (t) used.add(t);
  for (const t of g.outputs.values()) used.add(t);
  return used;
}

/**
 * The ModelProto of `graph` (not yet encoded; emitModel encodes it): IR version 9, default-domain
 * opset 18, producer 'reclm'. Throws Error when a graph input or used parameter is missing from
 * `opts.inputOrder`.
 */
export function modelProto(graph: Graph, opts: EmitOptions = {}) {
  return onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'reclm',
    producerVersion: opts.producerVersion ?? '0.1.0',
    docString: opts.docString,
    graph: graphProto(graph, opts),
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
}

/** Serialises a graph to ONNX bytes. */
export function emitModel(graph: Graph, opts: EmitOptions = {}): Uint8Array {
  return onnx.ModelProto.encode(modelProto(graph, opts)).finish();
}
