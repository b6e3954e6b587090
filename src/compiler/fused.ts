import { Graph, ParamInfo, Tensor, attr } from '../dsl/graph.js';
import { add } from '../dsl/ops/elementwise.js';
import { scalar } from '../dsl/ops/util.js';
import { AdamWConfig, CONTROL, DIM, OUTPUT, momentName, nextName } from '../contract/artifacts.js';
import { adamwStep } from './adamw.js';
import { parameterGradients } from './training.js';

/** Declares a model's parameters and inputs on `g` (including int64 scalars `seed` and `step`) and returns its loss. */
export type TrainingBuilder = (g: Graph) => { loss: Tensor };

/** Inputs of the training graph that are not per-step batch data. */
const STATE_INPUTS = new Set<string>([CONTROL.seed, CONTROL.step, CONTROL.rowOffset]);

/**
 * The fused training graph: K optimizer steps in one Scan (test/fused.test.ts checks it is
 * bit-identical to K separate runs; it saves K-1 session calls and their copies). Scan state: parameters, AdamW
 * moments, the step counter and the dropout seed; scan inputs: the K stacked batches and
 * a learning rate per step (so schedules advance inside the fused run); scan outputs: the
 * loss and raw gradient norm of each step.
 *
 * Inputs: every parameter, `<p>.m`, `<p>.v`, `step` (steps done so far), `seed`, each batch
 * input with a leading K dim, `lr [K]`. Outputs: `<p>.next`, `<p>.m.next`, `<p>.v.next`,
 * `step.next`, `losses [K]`, `grad_norms [K]`.
 */
export function buildFusedTrainStep(build: TrainingBuilder, cfg: AdamWConfig): Graph {
  const body = new Graph('train_step_body');
  const { loss } = build(body);
  const infos = body.params.map((p) => (p.source as { info: ParamInfo }).info);
  const grads = parameterGradients(body, loss);
  const m = infos.map((i) => body.input(momentName(i.name, 'm'), 'float32', i.shape));
  const v = infos.map((i) => body.input(momentName(i.name, 'v'), 'float32', i.shape));
  const lr = body.input(CONTROL.lr, 'float32', []);
  const step = body.getInput(CONTROL.step);
  const seed = body.getInput(CONTROL.seed);
  // Dropout's row offset: always 0 here (each fused step runs a whole batch); carried as Scan state.
  const rowOffset = body.inputs.find((x) => x.name === CONTROL.rowOffset) ?? null;
  const extra = rowOffset ? [rowOffset] : [];
  const t = add(step, scalar(body, 1, 'int64'));
  const slots = body.params.map((param, k) => ({ info: infos[k], param, grad: grads.get(param.name)!, m: m[k], v: v[k] }));
  const r = adamwStep(body, slots, t, lr, cfg);
  const batchInputs = body.inputs.filter((x) => !STATE_INPUTS.has(x.name) && !m.includes(x) && !v.includes(x) && x !== lr);

  // Body outputs: new state (same order as the state inputs), then per-step scan outputs.
  body.outputs.clear();
  const stateOut: Tensor[] = [...r.params, ...r.m, ...r.v, t, seed, ...extra];
  stateOut.forEach((x, k) => body.output(`state_${k}`, x));
  body.output(OUTPUT.loss, loss);
  body.output(OUTPUT.gradNorm, r.gradNorm);
  const bodyOrder = [...body.params, ...m, ...v, step, seed, ...extra, ...batchInputs, lr];

  const outer = new Graph('train_step');
  const params = infos.map((i) => outer.param(i.name, i.shape, i.init, { decay: i.decay, zeroGradRows: i.zeroGradRows }));
  const om = infos.map((i) => outer.input(momentName(i.name, 'm'), 'float32', i.shape));
  const ov = infos.map((i) => outer.input(momentName(i.name, 'v'), 'float32', i.shape));
  const oStep = outer.input(CONTROL.step, 'int64', []);
  const oSeed = outer.input(CONTROL.seed, 'int64', []);
  const oExtra = rowOffset ? [outer.constant(BigInt64Array.of(0n), 'int64', [])] : [];
  const oBatch = batchInputs.map((x) => outer.input(x.name, x.dtype, [DIM.steps, ...x.shape]));
  const oLr = outer.input(CONTROL.lr, 'float32', [DIM.steps]);
  const stateSpecs = [...params, ...om, ...ov, oStep, oSeed, ...oExtra].map((x) => ({ dtype: x.dtype, shape: x.shape }));
  const outs = outer.addNode(
    'Scan',
    [...params, ...om, ...ov, oStep, oSeed, ...oExtra, ...oBatch, oLr],
    { body: attr.graph(body, bodyOrder, 'body/'), num_scan_inputs: attr.int(oBatch.length + 1) },
    [...stateSpecs, { dtype: 'float32', shape: [DIM.steps] }, { dtype: 'float32', shape: [DIM.steps] }],
    'K fused training steps: forward, backward, clipping and AdamW per batch',
  );
  const n = infos.length;
  infos.forEach((info, k) => {
    outer.output(nextName(info.name), outs[k]);
    outer.output(nextName(momentName(info.name, 'm')), outs[n + k]);
    outer.output(nextName(momentName(info.name, 'v')), outs[2 * n + k]);
  });
  outer.output(nextName(CONTROL.step), outs[3 * n]);
  const scanOut = 3 * n + 2 + oExtra.length;
  outer.output(OUTPUT.losses, outs[scanOut]);
  outer.output(OUTPUT.gradNorms, outs[scanOut + 1]);
  return outer;
}
