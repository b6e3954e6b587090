import { AdamWConfig, CONTROL, OUTPUT, gradName, momentName, nextName } from '../contract/artifacts.js';
import { Graph, ParamInfo, Tensor } from '../dsl/graph.js';
import * as op from '../dsl/ops/elementwise.js';
import { reduceSum } from '../dsl/ops/reduce.js';
import { scalar } from '../dsl/ops/util.js';

export { type AdamWConfig, momentName };

/** The seed's AdamW hyper-parameters (docs/models.md, "Optimizer"). */
export const SEED_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1.0 };

export interface AdamWSlot {
  info: ParamInfo;
  param: Tensor;
  grad: Tensor;
  m: Tensor;
  v: Tensor;
}

export interface AdamWResult {
  params: Tensor[];
  m: Tensor[];
  v: Tensor[];
  /** sqrt(sum of squared raw gradients), before clipping. */
  gradNorm: Tensor;
  clipCoef: Tensor;
}

/**
 * Appends one AdamW step to `g`: global-norm clipping (torch clip_grad_norm_), decoupled
 * weight decay on decay tensors only, bias-corrected moments. `t` is the 1-based step
 * number (int64 scalar), `lr` a float32 scalar, so schedules need no recompilation.
 * `globalNorm` (float32 scalar), when given, is the norm to clip by instead of the norm of
 * the slots' gradients: a shard of the parameters (ZeRO-1) clips by the norm over all of them.
 */
export function adamwStep(g: Graph, slots: readonly AdamWSlot[], t: Tensor, lr: Tensor, cfg: AdamWConfig, globalNorm?: Tensor): AdamWResult {
  return g.scope('adamw', () => {
    const gradNorm = globalNorm ?? op.sqrt(slots.map((s) => reduceSum(op.mul(s.grad, s.grad), null)).reduce((a, b) => op.add(a, b)));
    const clipCoef = cfg.maxGradNorm > 0 ? op.min(scalar(g, 1), op.div(cfg.maxGradNorm, op.add(gradNorm, 1e-6))) : scalar(g, 1);
    const tf = op.cast(t, 'float32');
    // 1 - beta^t, computed in the graph so the step can advance inside a fused Scan.
    const bc1 = op.sub(1, op.pow(scalar(g, cfg.beta1), tf));
    const bc2 = op.sub(1, op.pow(scalar(g, cfg.beta2), tf));
    const stepSize = op.div(lr, bc1);
    const out: AdamWResult = { params: [], m: [], v: [], gradNorm, clipCoef };
    for (const s of slots) {
      g.scope(s.info.name, () => {
        const grad = cfg.maxGradNorm > 0 ? op.mul(s.grad, clipCoef) : s.grad;
        const decayed = s.info.decay && cfg.weightDecay > 0 ? op.mul(s.param, op.sub(1, op.mul(lr, cfg.weightDecay))) : s.param;
        const m = op.add(op.mul(s.m, cfg.beta1), op.mul(grad, 1 - cfg.beta1));
        const v = op.add(op.mul(s.v, cfg.beta2), op.mul(op.mul(grad, grad), 1 - cfg.beta2));
        const denom = op.add(op.sqrt(op.div(v, bc2)), cfg.eps);
        out.params.push(op.sub(decayed, op.mul(stepSize, op.div(m, denom))));
        out.m.push(m);
        out.v.push(v);
      });
    }
    return out;
  });
}

/**
 * The standalone optimizer graph: inputs every parameter, `<p>_grad`, `<p>.m`, `<p>.v`,
 * `step` (int64, the 1-based step being taken) and `lr`; outputs `<p>.next`, `<p>.m.next`,
 * `<p>.v.next`, `grad_norm` and `clip_coef`.
 */
export function buildOptimizerGraph(params: readonly ParamInfo[], cfg: AdamWConfig): Graph {
  const g = new Graph('optimizer');
  const slots = slotInputs(g, params);
  const t = g.input(CONTROL.step, 'int64', []);
  const lr = g.input(CONTROL.lr, 'float32', []);
  const r = adamwStep(g, slots, t, lr, cfg);
  updateOutputs(g, params, r);
  g.output(OUTPUT.gradNorm, r.gradNorm);
  g.output(OUTPUT.clipCoef, r.clipCoef);
  return g;
}

/**
 * The optimizer graph of one ZeRO-1 shard: as buildOptimizerGraph over `pieces` (row ranges
 * of parameters, each with its own name, shape and decay flag), except that `grad_norm`
 * (float32 scalar, the norm of the whole gradient over every shard) is an input, so every
 * shard clips by the same coefficient as the unsharded step. Outputs `<piece>.next`,
 * `<piece>.m.next`, `<piece>.v.next` and `clip_coef`.
 */
export function buildShardOptimizerGraph(pieces: readonly ParamInfo[], cfg: AdamWConfig): Graph {
  const g = new Graph('optimizer_shard');
  const slots = slotInputs(g, pieces);
  const t = g.input(CONTROL.step, 'int64', []);
  const lr = g.input(CONTROL.lr, 'float32', []);
  const norm = g.input(OUTPUT.gradNorm, 'float32', []);
  const r = adamwStep(g, slots, t, lr, cfg, norm);
  updateOutputs(g, pieces, r);
  g.output(OUTPUT.clipCoef, r.clipCoef);
  return g;
}

/** Graph inputs of every tensor's AdamW slot: the parameter, `<p>_grad`, `<p>.m` and `<p>.v` (float32, its shape). */
function slotInputs(g: Graph, params: readonly ParamInfo[]): AdamWSlot[] {
  return params.map((info) => ({
    info,
    param: g.input(info.name, 'float32', info.shape),
    grad: g.input(gradName(info.name), 'float32', info.shape),
    m: g.input(momentName(info.name, 'm'), 'float32', info.shape),
    v: g.input(momentName(info.name, 'v'), 'float32', info.shape),
  }));
}

/** Outputs `<p>.next`, `<p>.m.next` and `<p>.v.next` of every tensor, in `params` order. */
function updateOutputs(g: Graph, params: readonly ParamInfo[], r: { params: Tensor[]; m: Tensor[]; v: Tensor[] }): void {
  params.forEach((info, i) => {
    g.output(nextName(info.name), r.params[i]);
    g.output(nextName(momentName(info.name, 'm')), r.m[i]);
    g.output(nextName(momentName(info.name, 'v')), r.v[i]);
  });
}
