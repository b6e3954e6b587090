import { attrsOf } from '../../dsl/attrs.js';
import { Tensor, constInts } from '../../dsl/graph.js';
import { cast } from '../../dsl/ops/elementwise.js';
import { cumsum, gatherElements, gatherND, scatterElements, scatterND, trilu } from '../../dsl/ops/indexing.js';
import { transpose, unsqueeze } from '../../dsl/ops/shape-ops.js';
import { DslError } from '../../dsl/types.js';
import { zerosLike } from '../autodiff.js';
import { registerVjp } from './registry.js';

/** Gather along axis a: scatter-add the cotangent into zeros (duplicate indices accumulate). */
registerVjp('Gather', ({ node, grads: [g] }) => {
  const [x, idx0] = node.inputs;
  const a = attrsOf(node, 'Gather').axis;
  // Gather takes int32 or int64 indices, ScatterND only int64.
  const idx = idx0!.dtype === 'int64' ? idx0! : cast(idx0!, 'int64');
  const ri = idx.rank;
  if (a === 0) return [scatterND(zerosLike(x!), unsqueeze(idx, [ri]), g!, 'add'), null];
  // Move the gathered axis to the front, scatter there, and move it back.
  const r = x!.rank;
  const xPerm = [a, ...[...Array(r).keys()].filter((i) => i !== a)];
  const gPerm = [...[...Array(ri).keys()].map((i) => a + i), ...[...Array(a).keys()], ...[...Array(g!.rank - a - ri).keys()].map((i) => a + ri + i)];
  const xT = transpose(x!, xPerm);
  const scattered = scatterND(zerosLike(xT), unsqueeze(idx, [ri]), transpose(g!, gPerm), 'add');
  return [transpose(scattered, xPerm.map((_, i) => xPerm.indexOf(i))), null];
});

registerVjp('GatherElements', ({ node, grads: [g] }) => {
  const [x, idx] = node.inputs;
  return [scatterElements(zerosLike(x!), idx!, g!, attrsOf(node, 'GatherElements').axis, 'add'), null];
});

registerVjp('GatherND', ({ node, grads: [g] }) => {
  const [x, idx] = node.inputs;
  if (attrsOf(node, 'GatherND').batch_dims !== 0) throw new DslError('GatherND VJP: only batch_dims=0 is supported');
  return [scatterND(zerosLike(x!), idx!, g!, 'add'), null];
});

registerVjp('ScatterND', ({ node, grads: [g], needs }) => {
  const [, idx, updates] = node.inputs;
  const { reduction } = attrsOf(node, 'ScatterND');
  if (reduction !== 'add' && reduction !== 'none') throw new DslError(`ScatterND VJP: reduction '${reduction}' has no rule`);
  // With 'none' the scattered positions are overwritten, so data gets no gradient there.
  const dData = reduction === 'add' ? g! : scatterND(g!, idx!, zerosLike(updates!), 'none');
  return [dData, null, needs[2] ? gatherND(g!, idx!) : null];
});

registerVjp('ScatterElements', ({ node, grads: [g], needs }) => {
  const [, idx] = node.inputs;
  const { axis, reduction } = attrsOf(node, 'ScatterElements');
  if (reduction !== 'add') throw new DslError(`ScatterElements VJP: only reduction 'add' has a rule`);
  return [g!, null, needs[2] ? gatherElements(g!, idx!, axis) : null];
});

registerVjp('Trilu', ({ node, grads: [g] }) => {
  const [kv] = constInts(node.inputs[1], 'Trilu VJP: k');
  return [trilu(g!, attrsOf(node, 'Trilu').upper, kv), null];
});

registerVjp('CumSum', ({ node, grads: [g] }): (Tensor | null)[] => {
  const [a] = constInts(node.inputs[1], 'CumSum VJP: axis');
  const { exclusive, reverse } = attrsOf(node, 'CumSum');
  return [cumsum(g!, a, { exclusive, reverse: !reverse }), null];
});
