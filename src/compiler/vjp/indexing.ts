import { Tensor } from '../../dsl/graph.js';
import { cast } from '../../dsl/ops/elementwise.js';
import { cumsum, gatherElements, gatherND, scatterElements, scatterND, trilu } from '../../dsl/ops/indexing.js';
import { transpose, unsqueeze } from '../../dsl/ops/shape-ops.js';
import { DslError } from '../../dsl/types.js';
import { zerosLike } from '../autodiff.js';
import { registerVjp } from './registry.js';

const intAttr = (attrs: Record<string, unknown>, key: string) => (attrs[key] as { value: number } | undefined)?.value ?? 0;

/** Gather along axis a: scatter-add the cotangent into zeros (duplicate indices accumulate). */
registerVjp('Gather', ({ node: { inputs: [x, idx0], attrs }, grads: [g] }) => {
  const a = intAttr(attrs, 'axis');
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

registerVjp('GatherElements', ({ node: { inputs: [x, idx], attrs }, grads: [g] }) => [
  scatterElements(zerosLike(x!), idx!, g!, intAttr(attrs, 'axis'), 'add'),
  null,
]);

registerVjp('GatherND', ({ node: { inputs: [x, idx], attrs }, grads: [g] }) => {
  if (intAttr(attrs, 'batch_dims') !== 0) throw new DslError('GatherND VJP: only batch_dims=0 is supported');
  return [scatterND(zerosLike(x!), idx!, g!, 'add'), null];
});

registerVjp('ScatterND', ({ node: { inputs: [, idx, updates], attrs }, grads: [g], needs }) => {
  const reduction = (attrs.reduction as { value: string } | undefined)?.value ?? 'none';
  if (reduction !== 'add' && reduction !== 'none') throw new DslError(`ScatterND VJP: reduction '${reduction}' has no rule`);
  // With 'none' the scattered positions are overwritten, so data gets no gradient there.
  const dData = reduction === 'add' ? g! : scatterND(g!, idx!, zerosLike(updates!), 'none');
  return [dData, null, needs[2] ? gatherND(g!, idx!) : null];
});

registerVjp('ScatterElements', ({ node: { inputs: [, idx], attrs }, grads: [g], needs }) => {
  const axis = intAttr(attrs, 'axis');
  const reduction = (attrs.reduction as { value: string } | undefined)?.value ?? 'none';
  if (reduction !== 'add') throw new DslError(`ScatterElements VJP: only reduction 'add' has a rule`);
  return [g!, null, needs[2] ? gatherElements(g!, idx!, axis) : null];
});

registerVjp('Trilu', ({ node: { inputs: [, k], attrs }, grads: [g] }) => {
  const kv = Number((k!.source as { data: BigInt64Array }).data[0]);
  return [trilu(g!, intAttr(attrs, 'upper') === 1, kv), null];
});

registerVjp('CumSum', ({ node: { inputs: [, axis], attrs }, grads: [g] }): (Tensor | null)[] => {
  const a = Number((axis!.source as { data: BigInt64Array }).data[0]);
  return [cumsum(g!, a, { exclusive: intAttr(attrs, 'exclusive') === 1, reverse: intAttr(attrs, 'reverse') !== 1 }), null];
});
