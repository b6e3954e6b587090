import { DType, DslError, Dim, Shape, TypedArray, formatShape, isStatic, numel } from './types.js';

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'graph'; value: Graph; inputOrder?: readonly Tensor[]; prefix?: string }
  | { kind: 'tensor'; dtype: DType; shape: number[]; data: TypedArray };

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  ints: (value: number[]): Attr => ({ kind: 'ints', value }),
  floats: (value: number[]): Attr => ({ kind: 'floats', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
  /** A subgraph (Loop/Scan body) with its formal inputs in order; `prefix` keeps its names apart from the outer graph's. */
  graph: (value: Graph, inputOrder?: readonly Tensor[], prefix?: string): Attr => ({ kind: 'graph', value, inputOrder, prefix }),
  tensor: (dtype: DType, shape: number[], data: TypedArray): Attr => ({ kind: 'tensor', dtype, shape, data }),
};

/** The values of a constant tensor (made by `Graph.constant`); null for any other tensor. */
export function constData(t: Tensor | null): TypedArray | null {
  return t && t.source.kind === 'const' ? t.source.data : null;
}

/** A constant integer tensor's values (axes, sizes, k) as numbers. Throws DslError for a non-constant. */
export function constInts(t: Tensor | null, what: string): number[] {
  const data = constData(t);
  if (!data) throw new DslError(`${what}: expected a constant integer tensor, got ${t ? t.toString() : 'nothing'}`);
  return Array.from(data as ArrayLike<number | bigint>, Number);
}

/** How a parameter is initialised; interpreted by the runtime's initialiser (seeded). */
export type InitSpec =
  | { kind: 'normal'; std: number }
  | { kind: 'truncated_normal'; std: number }
  | { kind: 'uniform'; bound: number }
  | { kind: 'ones' }
  | { kind: 'zeros' };

export interface ParamInfo {
  name: string;
  shape: readonly number[];
  init: InitSpec;
  /** Decoupled weight decay applies (docs/models.md §4: tensors of rank >= 2). */
  decay: boolean;
  /** Rows whose gradient is defined to be 0 (the padding row of an embedding table). */
  zeroGradRows: number[];
}

export interface ParamOptions {
  /** Default: rank >= 2, the seed's AdamW grouping. */
  decay?: boolean;
  zeroGradRows?: number[];
}

export type TensorSource =
  | { kind: 'input' }
  | { kind: 'param'; info: ParamInfo }
  | { kind: 'const'; data: TypedArray }
  | { kind: 'node'; node: Node; index: number };

/**
 * A value of a Graph (SSA): its dtype, its shape (static or symbolic dims) and its source
 * (input, parameter, constant or a node's output). Made by Graph methods and ops, not directly.
 */
export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly source: TensorSource,
    public name: string,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

export interface Node {
  readonly id: number;
  readonly op: string;
  /** `null` marks an omitted optional input (emitted as ""). */
  inputs: (Tensor | null)[];
  readonly outputs: Tensor[];
  readonly attrs: Record<string, Attr>;
  readonly name: string;
  readonly doc: string;
}

export interface OutputSpec {
  dtype: DType;
  shape: Shape;
}

/**
 * A computation graph under construction. Tensors are SSA values; nodes are
 * appended in topological order as ops are called, so `nodes` is always a valid
 * schedule. Gradient and optimizer nodes are appended to the same graph.
 */
export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly params: Tensor[] = [];
  readonly outputs = new Map<string, Tensor>();
  /** Tensors autodiff treats as constants (see stopGradient). */
  readonly noGrad = new Set<Tensor>();
  private readonly names = new Set<string>();
  private nextId = 0;
  private scopes: string[] = [];
  private symbolCounter = 0;

  constructor(readonly name = 'reclm') {}

  /** Declares a data input. Symbolic dims (strings) are named dims such as `batch`. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    const t = this.newTensor(dtype, shape, { kind: 'input' }, this.claimName(name, 'input'));
    this.inputs.push(t);
    return t;
  }

  /** Declares a trainable parameter: a graph input of the training graphs, never an initializer. */
  param(name: string, shape: readonly number[], init: InitSpec, opts: ParamOptions = {}): Tensor {
    if (!isStatic(shape) || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new DslError(`param '${name}': shape ${formatShape(shape)} must be static positive integers`);
    }
    const info: ParamInfo = { name, shape: [...shape], init, decay: opts.decay ?? shape.length >= 2, zeroGradRows: opts.zeroGradRows ?? [] };
    const t = this.newTensor('float32', shape, { kind: 'param', info }, this.claimName(name, 'param'));
    this.params.push(t);
    return t;
  }

  /** A constant tensor, emitted as an initializer (so ORT can fold it). */
  constant(data: TypedArray, dtype: DType, shape: readonly number[]): Tensor {
    if (data.length !== numel(shape)) {
      throw new DslError(`constant: ${data.length} values do not fill shape ${formatShape(shape)}`);
    }
    return this.newTensor(dtype, shape, { kind: 'const', data }, this.claimName(`const_${this.nextId}`, 'node'));
  }

  output(name: string, t: Tensor): Tensor {
    if (t.graph !== this) throw new DslError(`output '${name}': tensor belongs to another graph`);
    if (this.outputs.has(name)) throw new DslError(`output '${name}' is declared twice`);
    // Output names become ONNX value names, which must be defined once (ORT: "Duplicate definition").
    if (this.names.has(name) && (t.name !== name || t.source.kind !== 'node')) {
      throw new DslError(`output '${name}' (${t}): the name is already used by another value in graph '${this.name}'`);
    }
    this.outputs.set(name, t);
    return t;
  }

  getParam(name: string): Tensor {
    const p = this.params.find((t) => t.name === name);
    if (!p) {
      const known = this.params.map((t) => t.name);
      throw new DslError(`unknown parameter '${name}'; known parameters: ${known.join(', ') || '(none)'}`);
    }
    return p;
  }

  getInput(name: string): Tensor {
    const t = this.inputs.find((x) => x.name === name);
    if (!t) throw new DslError(`unknown input '${name}'; inputs: ${this.inputs.map((x) => x.name).join(', ')}`);
    return t;
  }

  /** Runs `fn` with node names prefixed by `scope` (e.g. `layers.0.attn`), for readable graphs. */
  scope<T>(scope: string, fn: () => T): T {
    this.scopes.push(scope);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** A fresh symbolic dim for sizes known only at run time (e.g. the output of Range). */
  freshDim(hint: string): Dim {
    return `${hint}_${this.symbolCounter++}`;
  }

  addNode(op: string, inputs: (Tensor | null)[], attrs: Record<string, Attr>, outs: OutputSpec[], doc = ''): Tensor[] {
    for (const t of inputs) {
      if (t && t.graph !== this) throw new DslError(`${op}: input ${t.name} belongs to another graph`);
    }
    const id = this.nextId++;
    const prefix = this.scopes.length ? `${this.scopes.join('/')}/` : '';
    const name = this.claimName(`${prefix}${op}_${id}`, 'node');
    const outputs: Tensor[] = [];
    const node: Node = { id, op, inputs: [...inputs], outputs, attrs, name, doc };
    outs.forEach((spec, index) => {
      const tname = outs.length === 1 ? name : `${name}:${index}`;
      outputs.push(this.newTensor(spec.dtype, spec.shape, { kind: 'node', node, index }, this.claimName(tname, 'node')));
    });
    this.nodes.push(node);
    return outputs;
  }

  private newTensor(dtype: DType, shape: Shape, source: TensorSource, name: string): Tensor {
    return new Tensor(this, this.nextId++, dtype, [...shape], source, name);
  }

  private claimName(name: string, what: 'input' | 'param' | 'node'): string {
    if (this.names.has(name) || this.outputs.has(name)) {
      if (what !== 'node') throw new DslError(`${what} name '${name}' is already used in graph '${this.name}'`);
      let k = 1;
      while (this.names.has(`${name}_${k}`) || this.outputs.has(`${name}_${k}`)) k++;
      name = `${name}_${k}`;
    }
    this.names.add(name);
    return name;
  }
}
