import { Attr, Graph, Node, Tensor, constData } from '../dsl/graph.js';
import { TypedArray, isStatic, numel } from '../dsl/types.js';

/** Largest constant (elements) that folding may create; bigger ones stay computed at run time. */
const MAX_FOLDED_ELEMENTS = 4096;

/**
 * Returns a simplified copy of `graph` (the original is left untouched): identities
 * removed, constants deduplicated, shape computations and small constant expressions
 * folded, x*1 / x+0 dropped, common subexpressions merged, dead nodes eliminated.
 */
export function simplify(graph: Graph): Graph {
  const subst = new Map<Tensor, Tensor>();
  const constByKey = new Map<string, Tensor>();
  const nodeByKey = new Map<string, Node>();
  const resolve = (t: Tensor): Tensor => {
    let r = subst.get(t) ?? t;
    while (subst.has(r) && subst.get(r) !== r) r = subst.get(r)!;
    if (r.source.kind === 'const') {
      const key = constKey(r);
      const canon = constByKey.get(key);
      if (canon) return canon;
      constByKey.set(key, r);
    }
    return r;
  };
  const kept: Node[] = [];
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((t) => (t ? resolve(t) : null));
    const n: Node = { ...node, inputs };
    const replacement = foldOrForward(graph, n);
    if (replacement) {
      subst.set(n.outputs[0], resolve(replacement));
      continue;
    }
    const key = cseKey(n);
    const prior = key ? nodeByKey.get(key) : undefined;
    if (prior) {
      n.outputs.forEach((o, i) => subst.set(o, prior.outputs[i]));
      continue;
    }
    if (key) nodeByKey.set(key, n);
    kept.push(n);
  }
  const out = new Graph(graph.name);
  for (const p of graph.params) (out.params as Tensor[]).push(p);
  for (const i of graph.inputs) (out.inputs as Tensor[]).push(i);
  for (const [name, t] of graph.outputs) out.outputs.set(name, resolve(t));
  (out.nodes as Node[]).push(...eliminateDead(kept, [...out.outputs.values()]));
  return out;
}

function eliminateDead(nodes: Node[], roots: Tensor[]): Node[] {
  const live = new Set<Tensor>(roots);
  const keep: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!n.outputs.some((o) => live.has(o))) continue;
    keep.push(n);
    for (const t of n.inputs) if (t) live.add(t);
  }
  return keep.reverse();
}

function constKey(t: Tensor): string {
  const data = (t.source as { data: TypedArray }).data;
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return `${t.dtype}|${t.shape.join(',')}|${bytes.toString('base64')}`;
}

function attrKey(a: Attr): string {
  if (a.kind === 'graph') return `graph#${Math.random()}`; // subgraphs are never merged
  if (a.kind === 'tensor') return `tensor:${a.dtype}:${a.shape}:${Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).toString('base64')}`;
  return `${a.kind}:${JSON.stringify(a.value)}`;
}

/** Ops whose every evaluation draws new values: two such nodes are never one value. */
const NONDETERMINISTIC = new Set(['Dropout', 'RandomUniform', 'RandomNormal', 'RandomUniformLike', 'RandomNormalLike', 'Bernoulli', 'Multinomial']);

function cseKey(n: Node): string | null {
  if (NONDETERMINISTIC.has(n.op)) return null;
  if (Object.values(n.attrs).some((a) => a.kind === 'graph')) return null;
  const attrs = Object.keys(n.attrs).sort().map((k) => `${k}=${attrKey(n.attrs[k])}`);
  return `${n.op}(${n.inputs.map((t) => (t ? t.id : '_')).join(',')})[${attrs.join(';')}]`;
}

function isScalarValue(t: Tensor | null, value: number): boolean {
  const d = constData(t);
  return d !== null && d.length === 1 && Number(d[0]) === value;
}

/** A tensor that replaces the node's single output, or null to keep the node. */
function foldOrForward(g: Graph, n: Node): Tensor | null {
  const [a, b] = n.inputs;
  const out = n.outputs[0];
  const sameAs = (t: Tensor | null) => t !== null && t.dtype === out.dtype && t.shape.length === out.shape.length && t.shape.every((d, i) => d === out.shape[i]);
  switch (n.op) {
    case 'Identity':
      return a;
    case 'Mul':
      if (isScalarValue(b, 1) && sameAs(a)) return a;
      if (isScalarValue(a, 1) && sameAs(b)) return b;
      break;
    case 'Add':
      if (isScalarValue(b, 0) && sameAs(a)) return a;
      if (isScalarValue(a, 0) && sameAs(b)) return b;
      break;
    case 'Sub':
    case 'Div':
      if (isScalarValue(b, n.op === 'Sub' ? 0 : 1) && sameAs(a)) return a;
      break;
    case 'Shape':
      if (a && isStatic(a.shape)) return g.constant(BigInt64Array.from(a.shape.map(BigInt)), 'int64', [a.rank]);
      break;
  }
  return foldConstant(g, n);
}

/** Evaluates small all-constant nodes whose result is cheap to store. */
function foldConstant(g: Graph, n: Node): Tensor | null {
  if (n.outputs.length !== 1 || !n.inputs.every((t) => t === null || t.source.kind === 'const')) return null;
  const out = n.outputs[0];
  if (!isStatic(out.shape) || numel(out.shape) > MAX_FOLDED_ELEMENTS) return null;
  const [x] = n.inputs;
  const xd = constData(x);
  if (!xd) return null;
  switch (n.op) {
    case 'Reshape':
    case 'Unsqueeze':
    case 'Squeeze':
      return g.constant(xd.slice(), out.dtype, out.shape);
    case 'Concat': {
      if (out.rank !== 1) return null;
      const parts = n.inputs.map((t) => Array.from(constData(t)! as ArrayLike<number | bigint>));
      return makeConst(g, out, parts.flat());
    }
    case 'Gather': {
      const idx = constData(n.inputs[1]);
      if (x!.rank !== 1 || !idx) return null;
      return makeConst(g, out, Array.from(idx as BigInt64Array, (i) => xd[Number(i) < 0 ? Number(i) + xd.length : Number(i)]));
    }
    case 'Cast':
      return makeConst(g, out, Array.from(xd as ArrayLike<number | bigint>));
    case 'Neg':
      return makeConst(g, out, Array.from(xd as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? -v : -v)));
  }
  return null;
}

function makeConst(g: Graph, like: Tensor, values: (number | bigint)[]): Tensor {
  const shape = like.shape as number[];
  switch (like.dtype) {
    case 'int64':
      return g.constant(BigInt64Array.from(values, (v) => BigInt(Math.trunc(Number(v)))), 'int64', shape);
    case 'int32':
      return g.constant(Int32Array.from(values, Number), 'int32', shape);
    case 'float64':
      return g.constant(Float64Array.from(values, Number), 'float64', shape);
    case 'float32':
      return g.constant(Float32Array.from(values, Number), 'float32', shape);
    case 'bool':
      return g.constant(Uint8Array.from(values, (v) => (Number(v) ? 1 : 0)), 'bool', shape);
  }
}
