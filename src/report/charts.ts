// The report's charts: vega-lite specs compiled to vega and rendered to SVG strings in Node with
// the headless 'none' renderer (no browser, no canvas: without node-canvas, vega estimates text
// widths from the character count, good enough for axis labels and titles).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { EvalRecord } from './eval-results.js';
import type { EpochPoint, RunData, StepPoint } from './run.js';

const WIDTH = 560;
const HEIGHT = 190;
const BLUE = '#1f77b4';
const ORANGE = '#ff7f0e';
const GREY = '#9a9a9a';

/** Shared look: one sans-serif font (the browser's, since the page loads none), light grid. */
const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  title: { fontSize: 14, anchor: 'start' as const, offset: 8 },
  legend: { orient: 'top' as const, labelFontSize: 11, titleFontSize: 11 },
};

type Spec = Omit<TopLevelSpec, 'config'> & Record<string, unknown>;

function top(spec: Spec): TopLevelSpec {
  return { width: WIDTH, height: HEIGHT, config: CONFIG, background: 'white', ...spec } as TopLevelSpec;
}

/** Vertical dashed rules at the last step of each finished epoch (layer for step charts). */
function epochRules(epochs: EpochPoint[]) {
  return {
    data: { values: epochs.map((e) => ({ step: e.step, epoch: e.epoch })) },
    mark: { type: 'rule', strokeDash: [3, 3], color: '#ccc' },
    encoding: { x: { field: 'step', type: 'quantitative' } },
  };
}

/** Training loss per step, raw (thin, light) and smoothed (see smoothEma), with epoch ends dashed. */
export function lossSpec(steps: StepPoint[], epochs: EpochPoint[], smoothing: number): TopLevelSpec {
  // One layer per series (thin raw, thick smoothed); the shared color scale gives one legend.
  const series = (field: 'loss' | 'loss_smoothed', name: string, width: number) => ({
    data: { values: steps },
    transform: [{ calculate: `'${name}'`, as: 'series' }],
    mark: { type: 'line', strokeWidth: width },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field, type: 'quantitative', title: 'loss', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['raw', 'smoothed'], range: ['#aec7e8', BLUE] } },
    },
  });
  return top({
    title: `Training loss per step (smoothing ${smoothing})`,
    layer: [epochRules(epochs), series('loss', 'raw', 1), series('loss_smoothed', 'smoothed', 2.5)],
  });
}

/** Learning rate per step (the schedule the optimizer was fed). */
export function lrSpec(steps: StepPoint[]): TopLevelSpec {
  return top({
    title: 'Learning rate',
    data: { values: steps },
    mark: { type: 'line', color: BLUE },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'lr', type: 'quantitative', title: 'learning rate', axis: { format: '.1e' } },
    },
  });
}

/** Global gradient norm per step, with the clipping threshold as a dashed rule. */
export function gradNormSpec(steps: StepPoint[], maxGradNorm: number | undefined): TopLevelSpec {
  const layers: unknown[] = [
    {
      data: { values: steps },
      mark: { type: 'line', color: BLUE, strokeWidth: 1.2 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'grad_norm', type: 'quantitative', title: 'gradient norm' },
      },
    },
  ];
  if (maxGradNorm !== undefined && maxGradNorm > 0) {
    layers.push({
      data: { values: [{ clip: maxGradNorm }] },
      mark: { type: 'rule', color: ORANGE, strokeDash: [6, 4] },
      encoding: { y: { field: 'clip', type: 'quantitative' } },
    });
  }
  return top({
    title: 'Gradient norm (before clipping)',
    layer: layers,
  });
}

/** Real (non-padding) tokens per second of each epoch's training steps. */
export function throughputSpec(epochs: EpochPoint[]): TopLevelSpec {
  return top({
    title: 'Real tokens per second',
    data: { values: epochs },
    mark: { type: 'bar', color: BLUE },
    encoding: {
      x: { field: 'epoch', type: 'ordinal', title: 'epoch', axis: { labelAngle: 0 } },
      y: { field: 'tokens_per_s', type: 'quantitative', title: 'tokens/s', axis: { format: '~s' } },
    },
  });
}

/** Validation NDCG@10 and HR@10 per validated epoch; the best epoch (by NDCG@10) marked. */
export function validationSpec(epochs: EpochPoint[], best: RunData['best'], title = 'Validation NDCG@10 and HR@10'): TopLevelSpec {
  const validated = epochs.filter((e) => e['ndcg@10'] !== undefined).map((e) => ({ epoch: e.epoch, 'NDCG@10': e['ndcg@10'], 'HR@10': e['hr@10'] }));
  const layers: unknown[] = [
    {
      data: { values: validated },
      transform: [{ fold: ['NDCG@10', 'HR@10'], as: ['metric', 'value'] }],
      mark: { type: 'line', point: { filled: true, size: 40 } },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'value', type: 'quantitative', title: 'validation metric', scale: { zero: false, nice: true } },
        color: { field: 'metric', type: 'nominal', title: null, scale: { domain: ['NDCG@10', 'HR@10'], range: [BLUE, ORANGE] } },
      },
    },
  ];
  if (best) {
    const mark = [{ epoch: best.epoch, label: `best: epoch ${best.epoch}, NDCG@10 ${best['ndcg@10'].toFixed(4)}` }];
    // A label right of the last epoch would leave the plot.
    const atEnd = validated.length > 1 && best.epoch === validated[validated.length - 1].epoch;
    layers.push(
      { data: { values: mark }, mark: { type: 'rule', color: GREY, strokeDash: [4, 3] }, encoding: { x: { field: 'epoch', type: 'quantitative' } } },
      {
        data: { values: mark },
        mark: { type: 'text', align: atEnd ? 'right' : 'left', dx: atEnd ? -4 : 4, baseline: 'bottom', y: HEIGHT - 2, fontSize: 11, color: '#444' },
        encoding: { x: { field: 'epoch', type: 'quantitative' }, text: { field: 'label' } },
      },
    );
  }
  return top({ title, layer: layers });
}

/** The metrics a final-ranking chart shows, when the evaluation has them. */
const FINAL_KEYS = ['hr@10', 'ndcg@10', 'hr@50', 'ndcg@50', 'mrr'];

/** Final ranking metrics of one saved evaluation next to the most-popular baseline (grouped bars). */
export function finalSpec(e: EvalRecord): TopLevelSpec {
  const keys = FINAL_KEYS.filter((k) => k in e.metrics && k in e.popularity);
  const values = keys.flatMap((k) => [
    { metric: k.toUpperCase(), system: 'model', value: e.metrics[k] },
    { metric: k.toUpperCase(), system: 'most-popular', value: e.popularity[k] },
  ]);
  return top({
    title: `${e.split === 'test' ? 'Test' : 'Validation'} split: model and most-popular`,
    height: 170,
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'metric', type: 'nominal', title: null, sort: keys.map((k) => k.toUpperCase()), axis: { labelAngle: 0 } },
      xOffset: { field: 'system', type: 'nominal', sort: ['model', 'most-popular'] },
      y: { field: 'value', type: 'quantitative', title: 'metric' },
      color: { field: 'system', type: 'nominal', title: null, scale: { domain: ['model', 'most-popular'], range: [BLUE, '#c7c7c7'] } },
    },
  });
}

/**
 * Renders a vega-lite spec to a standalone SVG string (vega-lite compile → vega View with the
 * 'none' renderer → toSVG). The SVG has fixed width/height attributes and a viewBox.
 * @throws Error from vega-lite/vega for an invalid spec (an internal bug, stack kept)
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
