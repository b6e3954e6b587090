/**
 * Losses over the encoder output F [batch, L, d] (docs/models.md §2.4, §3.5).
 *
 * Every loss averages over M = {(b, t): pos[b, t] != 0}. Item vectors come from a table
 * `items` [V+1, d] (raw `item_emb` or its row-wise L2 normalisation, see `itemVectors`);
 * gathering from the normalised table equals normalising the gathered rows, and costs one
 * [V+1, d] pass instead of one per gathered row. 1/τ is applied to F once, so no pass
 * over a logits tensor is spent on it.
 */
import { Tensor } from '../src/dsl/graph.js';
import * as op from '../src/dsl/index.js';
import { LossSettings } from './config.js';

/** Sampled-softmax logit of a negative that equals the positive (official SampledSoftmaxLoss). */
export const COLLISION_LOGIT = -5e4;
/** Labels of the positions softmax cross-entropy ignores. */
const IGNORE = -100;

export interface LossOutput {
  loss: Tensor;
  /** Named debug tensors, as the fixtures name them. */
  debug: Record<string, Tensor>;
}

/** The item vectors ê of docs/models.md §3.5 for the whole table [V+1, d]. */
export function itemVectors(itemEmb: Tensor, settings: Pick<LossSettings, 'item_l2_norm' | 'l2_eps'>): Tensor {
  return settings.item_l2_norm ? op.l2Normalize(itemEmb, settings.l2_eps) : itemEmb;
}

/** F·ê(ids) per position: F [batch, L, d], ids [batch, L] → [batch, L]. */
function rowDot(f: Tensor, items: Tensor, ids: Tensor): Tensor {
  return op.reduceSum(op.mul(f, op.gather(items, ids, 0)), [-1]);
}

/** 1 where pos != 0, as float: [batch, L]. */
function validMask(pos: Tensor): Tensor {
  return op.cast(op.not(op.equal(pos, 0)), 'float32');
}

/** Σ x·w / max(Σ w, 1) (the guard only matters for a batch without any target). */
function weightedMean(x: Tensor, w: Tensor, count: Tensor): Tensor {
  return op.div(op.reduceSum(op.mul(x, w), null), count);
}

/**
 * The seed's BCE (§2.4): (1/|M|) Σ_M softplus(−pos_logit) + (1/|M|) Σ_M softplus(neg_logit).
 * `itemsPos` and `itemsNeg` are the same table except in the official variant.
 */
export function seedBce(f: Tensor, items: Tensor, pos: Tensor, neg: Tensor, temperature: number): LossOutput {
  const fs = temperature === 1 ? f : op.mul(f, 1 / temperature);
  const posLogits = rowDot(fs, items, pos);
  const negLogits = rowDot(fs, items, neg);
  const w = validMask(pos);
  const count = op.max(op.reduceSum(w, null), 1);
  const loss = op.add(weightedMean(op.softplus(op.neg(posLogits)), w, count), weightedMean(op.softplus(negLogits), w, count));
  return { loss, debug: { pos_logits: posLogits, neg_logits: negLogits } };
}

/**
 * Official HSTU `BCELoss` (docs/models.md §3.5, §7.6): positives use the raw item rows, negatives the
 * sampler's vectors (L2-normalised when item_l2_norm), a negative equal to its positive
 * drops the position, and the per-position loss is halved:
 * Σ 0.5·(softplus(−pos) + softplus(neg))·w / Σ w with w = [pos != 0]·[neg != pos].
 */
export function officialBce(f: Tensor, rawItems: Tensor, negItems: Tensor, pos: Tensor, neg: Tensor, temperature: number): LossOutput {
  const fs = temperature === 1 ? f : op.mul(f, 1 / temperature);
  const posLogits = rowDot(fs, rawItems, pos);
  const negLogits = rowDot(fs, negItems, neg);
  const w = op.mul(validMask(pos), op.cast(op.not(op.equal(neg, pos)), 'float32'));
  const count = op.max(op.reduceSum(w, null), 1);
  const per = op.mul(op.add(op.softplus(op.neg(posLogits)), op.softplus(negLogits)), 0.5);
  return { loss: weightedMean(per, w, count), debug: { pos_logits: posLogits, neg_logits: negLogits } };
}

/** Mean over positions with label != IGNORE of softmax cross-entropy; logits [batch, L, C], labels [batch, L]. */
function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const c = logits.shape[2];
  const flat = op.reshape(logits, [-1, c]);
  const [loss] = op.softmaxCrossEntropyLoss(flat, op.reshape(labels, [-1]), { reduction: 'mean', ignoreIndex: IGNORE });
  return loss;
}

/**
 * Sampled softmax (official SampledSoftmaxLoss, §3.5): logits [z0, z1..zR] with
 * z_r = −5e4 where negs_r == pos, loss = mean_M [logsumexp(z) − z0].
 *
 * `negs` is [batch, L, R] (the literal form: the gathered negatives [batch, L, R, d] go
 * through one batched matrix-vector product) or, with shared negatives, [R]: one
 * [batch·L, d] × [d, R] MatMul.
 */
export function sampledSoftmax(f: Tensor, items: Tensor, pos: Tensor, negs: Tensor, temperature: number): LossOutput {
  const fs = op.mul(f, 1 / temperature);
  const z0 = op.unsqueeze(rowDot(fs, items, pos), [2]); // [batch, L, 1]
  let zNeg: Tensor;
  let collide: Tensor;
  if (negs.rank === 1) {
    const n = op.gather(items, negs, 0); // [R, d]
    zNeg = op.matmul(fs, op.transpose(n, [1, 0])); // [batch, L, R]
    collide = op.equal(op.reshape(negs, [1, 1, -1]), op.unsqueeze(pos, [2]));
  } else {
    const n = op.gather(items, negs, 0); // [batch, L, R, d]
    zNeg = op.squeeze(op.matmul(n, op.unsqueeze(fs, [3])), [3]); // [batch, L, R]
    collide = op.equal(negs, op.unsqueeze(pos, [2]));
  }
  zNeg = op.where(collide, op.scalar(f.graph, COLLISION_LOGIT), zNeg);
  const logits = op.concat([z0, zNeg], 2);
  // The positive is class 0 of every target position.
  const labels = op.where(op.equal(pos, 0), op.scalar(f.graph, IGNORE, 'int64'), op.scalar(f.graph, 0, 'int64'));
  return { loss: crossEntropy(logits, labels), debug: { logits } };
}

/**
 * Full softmax cross-entropy over items 1..V (§3.5; the padding column is excluded):
 * logits[b, t, i−1] = F·ê(i)/τ, loss = mean_M [logsumexp − logits[pos−1]].
 *
 * With label smoothing ε > 0 the target distribution is (1 − ε)·onehot(pos) + ε/V (PyTorch's
 * `cross_entropy(..., label_smoothing=ε)`, after Szegedy et al., CVPR 2016, §7):
 * loss = mean_M [(1 − ε)·(lse − z_pos) + ε·(lse − z̄)] = CE + ε·mean_M [z_pos − z̄], with
 * z̄ = mean_i logits[i] = F·mean_i ê(i)/τ. That form needs one [d] mean of the item table
 * and two dot products per target row, no second pass over the [N, V] logits.
 */
export function fullCe(f: Tensor, items: Tensor, pos: Tensor, temperature: number, labelSmoothing = 0): LossOutput {
  const v = items.shape[0] as number;
  const d = f.shape[2] as number;
  const real = op.slice(items, [0], [1], [v]); // [V, d]
  const realT = op.transpose(real, [1, 0]); // [d, V]
  const fs = temperature === 1 ? f : op.mul(f, 1 / temperature);
  // Only target positions enter the loss, so only their rows get catalogue-wide logits:
  // [N, V] instead of [batch·L, V] (about half the rows on ML-1M at maxlen 200).
  const flatPos = op.reshape(pos, [-1]);
  const rows = op.squeeze(op.nonZero(flatPos), [0]); // [N]
  const targetRows = op.gather(op.reshape(fs, [-1, d]), rows, 0); // [N, d]
  const logits = op.matmul(targetRows, realT); // [N, V]
  const targets = op.gather(flatPos, rows, 0); // [N], ids 1..V
  const [ce] = op.softmaxCrossEntropyLoss(logits, op.sub(targets, 1), { reduction: 'mean' });
  let loss = ce;
  if (labelSmoothing > 0) {
    const zPos = op.reduceSum(op.mul(targetRows, op.gather(items, targets, 0)), [-1]); // [N]
    const zMean = op.reduceSum(op.mul(targetRows, op.reduceMean(real, [0])), [-1]); // [N]
    const count = op.max(op.reduceSum(validMask(pos), null), 1);
    loss = op.add(ce, op.mul(op.div(op.reduceSum(op.sub(zPos, zMean), null), count), labelSmoothing));
  }
  // The fixtures' [batch, L, V] logits, built only when debug outputs ask for them.
  return { loss, debug: { logits: op.matmul(fs, realT) } };
}
