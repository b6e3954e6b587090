/**
 * The attributes of every op that has some, typed once (the way tfjs-core's kernel_names.ts
 * names `SoftmaxAttrs`): the builder in src/dsl/ops/<family>.ts writes them with
 * `attrsFor`, the VJP rule in src/compiler/vjp/<family>.ts reads them back with `attrsOf`,
 * and both see the same interface, so no use site casts an attribute.
 * Field names are the ONNX attribute names (opset 18).
 */
import type { Attr, Node } from './graph.js';
import { DslError, DType, ONNX_DTYPE, dtypeOfOnnx } from './types.js';

export type AxisAttrs = { axis: number };
export type SoftmaxAttrs = AxisAttrs;
export type CastAttrs = { to: DType };
export type TransposeAttrs = { perm: number[] };
export type ReduceAttrs = { keepdims: boolean };
export type ScatterReduction = 'none' | 'add';
export type GatherNDAttrs = { batch_dims: number };
export type ScatterNDAttrs = { reduction: ScatterReduction };
export type ScatterElementsAttrs = { axis: number; reduction: ScatterReduction };
export type TriluAttrs = { upper: boolean };
export type CumSumAttrs = { exclusive: boolean; reverse: boolean };
export type TopKAttrs = { axis: number; largest: boolean; sorted: boolean };
export type LayerNormAttrs = { axis: number; epsilon: number };
export type SoftmaxCrossEntropyAttrs = { reduction: 'none' | 'sum' | 'mean'; ignore_index?: number };

/** Op type → its attributes. */
export interface OpAttrs {
  Softmax: SoftmaxAttrs;
  LogSoftmax: AxisAttrs;
  Cast: CastAttrs;
  Mod: { fmod: boolean };
  Transpose: TransposeAttrs;
  Concat: AxisAttrs;
  Split: AxisAttrs;
  Gather: AxisAttrs;
  Pad: { mode: 'constant' };
  ReduceSum: ReduceAttrs;
  ReduceMean: ReduceAttrs;
  ReduceMax: ReduceAttrs;
  ReduceProd: ReduceAttrs;
  GatherElements: AxisAttrs;
  GatherND: GatherNDAttrs;
  ScatterND: ScatterNDAttrs;
  ScatterElements: ScatterElementsAttrs;
  Trilu: TriluAttrs;
  CumSum: CumSumAttrs;
  TopK: TopKAttrs;
  LayerNormalization: LayerNormAttrs;
  SoftmaxCrossEntropyLoss: SoftmaxCrossEntropyAttrs;
}
export type OpWithAttrs = keyof OpAttrs;

/** How each field is stored in ONNX: booleans and dtypes as ints. */
type Kind = 'int' | 'float' | 'bool' | 'ints' | 'string' | 'dtype';
const AXIS = { axis: 'int' } as const;
const REDUCE = { keepdims: 'bool' } as const;
const SCHEMA: { [K in OpWithAttrs]: { [F in keyof OpAttrs[K]]-?: Kind } } = {
  Softmax: AXIS,
  LogSoftmax: AXIS,
  Cast: { to: 'dtype' },
  Mod: { fmod: 'bool' },
  Transpose: { perm: 'ints' },
  Concat: AXIS,
  Split: AXIS,
  Gather: AXIS,
  Pad: { mode: 'string' },
  ReduceSum: REDUCE,
  ReduceMean: REDUCE,
  ReduceMax: REDUCE,
  ReduceProd: REDUCE,
  GatherElements: AXIS,
  GatherND: { batch_dims: 'int' },
  ScatterND: { reduction: 'string' },
  ScatterElements: { axis: 'int', reduction: 'string' },
  Trilu: { upper: 'bool' },
  CumSum: { exclusive: 'bool', reverse: 'bool' },
  TopK: { axis: 'int', largest: 'bool', sorted: 'bool' },
  LayerNormalization: { axis: 'int', epsilon: 'float' },
  SoftmaxCrossEntropyLoss: { reduction: 'string', ignore_index: 'int' },
};

function encode(kind: Kind, v: unknown): Attr {
  switch (kind) {
    case 'int':
      return { kind: 'int', value: v as number };
    case 'float':
      return { kind: 'float', value: v as number };
    case 'bool':
      return { kind: 'int', value: v ? 1 : 0 };
    case 'ints':
      return { kind: 'ints', value: [...(v as number[])] };
    case 'string':
      return { kind: 'string', value: v as string };
    case 'dtype':
      return { kind: 'int', value: ONNX_DTYPE[v as DType] };
  }
}

/** The node attributes of `op` (fields left undefined are omitted, as ONNX optional attributes). */
export function attrsFor<K extends OpWithAttrs>(op: K, attrs: OpAttrs[K]): Record<string, Attr> {
  const schema = SCHEMA[op] as Record<string, Kind>;
  const out: Record<string, Attr> = {};
  for (const [name, v] of Object.entries(attrs)) if (v !== undefined) out[name] = encode(schema[name], v);
  return out;
}

/** Reads a node's attributes back as the builder wrote them. Throws DslError for another op. */
export function attrsOf<K extends OpWithAttrs>(node: Pick<Node, 'op' | 'attrs' | 'name'>, op: K): OpAttrs[K] {
  if (node.op !== op) throw new DslError(`attrsOf: node ${node.name} is ${node.op}, not ${op}`);
  const out: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(SCHEMA[op] as Record<string, Kind>)) {
    const a = node.attrs[name];
    if (a === undefined) continue;
    const v = (a as { value: unknown }).value;
    out[name] = kind === 'bool' ? v === 1 : kind === 'dtype' ? dtypeOfOnnx(v as number) : v;
  }
  return out as unknown as OpAttrs[K];
}
