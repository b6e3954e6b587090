import { Graph, Node, Tensor } from '../dsl/graph.js';
import { add } from '../dsl/ops/elementwise.js';
import { constantOfShape } from '../dsl/ops/indexing.js';
import { expandAs } from '../dsl/ops/shape-ops.js';
import { int64s, scalar } from '../dsl/ops/util.js';
import { DslError, formatShape, isFloat, isStatic } from '../dsl/types.js';
import { NON_DIFFERENTIABLE, vjpRule } from './vjp/registry.js';
import './vjp/all.js';

/** A tensor of zeros shaped like `t`. */
export function zerosLike(t: Tensor): Tensor {
  const g = t.graph;
  if (isStatic(t.shape)) return constantOfShape(int64s(g, t.shape), 0, t.dtype, t.shape);
  return expandAs(scalar(g, 0, t.dtype), t);
}

/**
 * Reverse-mode autodiff: appends to `graph` the nodes computing d(loss)/d(x) for each x in
 * `wrt`, and returns them in the same order. `seed` is the cotangent of `loss` (default 1).
 * Only nodes on a path from some x to `loss` are differentiated; integer and index paths
 * carry no gradient.
 */
export function gradients(graph: Graph, loss: Tensor, wrt: readonly Tensor[], seed?: Tensor): Tensor[] {
  for (const x of wrt) {
    if (!isFloat(x.dtype)) {
      throw new DslError(`gradients: gradient requested for ${x.name} of dtype ${x.dtype}${formatShape(x.shape)}; only float tensors have gradients`);
    }
    if (x.graph !== graph) throw new DslError(`gradients: ${x.name} belongs to another graph`);
  }
  if (!isFloat(loss.dtype)) throw new DslError(`gradients: loss ${loss.name} must be a float tensor, got ${loss.dtype}`);
  const nodes = [...graph.nodes];
  const active = forwardActive(nodes, wrt, graph.noGrad);
  const cotangents = new Map<Tensor, Tensor>();
  const accumulate = (t: Tensor, g: Tensor) => {
    const prev = cotangents.get(t);
    cotangents.set(t, prev ? add(prev, g) : g);
  };
  accumulate(loss, seed ?? (loss.rank === 0 ? scalar(graph, 1, loss.dtype) : expandAs(scalar(graph, 1, loss.dtype), loss)));

  graph.scope('grad', () => {
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      const outGrads = node.outputs.map((o) => cotangents.get(o) ?? null);
      if (outGrads.every((g) => g === null)) continue;
      const needs = node.inputs.map((t) => t !== null && active.has(t));
      if (!needs.some(Boolean)) continue;
      const rule = vjpRule(node.op);
      if (!rule) {
        if (NON_DIFFERENTIABLE.has(node.op)) continue;
        throw new DslError(`gradients: no VJP rule for op ${node.op} (node ${node.name})`);
      }
      const inGrads = graph.scope(node.name.replace(/\//g, '.'), () => rule({ node, grads: outGrads, needs }));
      inGrads.forEach((g, k) => {
        const input = node.inputs[k];
        if (g && input && needs[k]) accumulate(input, g);
      });
    }
  });
  return wrt.map((x) => cotangents.get(x) ?? zerosLike(x));
}

/** Tensors that depend differentiably on some x in `wrt`. */
function forwardActive(nodes: readonly Node[], wrt: readonly Tensor[], noGrad: ReadonlySet<Tensor>): Set<Tensor> {
  const active = new Set<Tensor>(wrt);
  for (const node of nodes) {
    if (NON_DIFFERENTIABLE.has(node.op)) continue;
    if (!node.inputs.some((t) => t !== null && active.has(t))) continue;
    for (const o of node.outputs) if (isFloat(o.dtype) && !noGrad.has(o)) active.add(o);
  }
  return active;
}
